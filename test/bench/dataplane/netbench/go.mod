// The dataplane benchmark's probe and connection-rate tool (test-only, standard library only).
module alp-mesh.local/netbench

go 1.26.0
