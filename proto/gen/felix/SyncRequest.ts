// Original file: /work/main/proto/felix/felixbackend.proto


export interface SyncRequest {
}

export interface SyncRequest__Output {
}
