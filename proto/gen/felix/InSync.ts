// Original file: /work/main/proto/felix/felixbackend.proto


export interface InSync {
}

export interface InSync__Output {
}
