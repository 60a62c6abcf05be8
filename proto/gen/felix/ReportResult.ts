// Original file: /work/main/proto/felix/felixbackend.proto


export interface ReportResult {
  'successful'?: (boolean);
}

export interface ReportResult__Output {
  'successful': (boolean);
}
