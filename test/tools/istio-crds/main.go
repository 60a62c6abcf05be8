// Command istio-crds writes the CustomResourceDefinitions that Istio's `base` chart installs
// (charts/base/files/crd-all.gen.yaml, embedded in the Go package istio.io/istio/manifests) to
// stdout, so the manifest checks install exactly the pinned Istio's CRDs through its Go package.
package main

import (
	"fmt"
	"io/fs"
	"os"

	"istio.io/istio/manifests"
)

const crdFile = "charts/base/files/crd-all.gen.yaml"

func main() {
	data, err := fs.ReadFile(manifests.BuiltinOrDir(""), crdFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-crds: reading %s from istio.io/istio/manifests: %v\n", crdFile, err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(data); err != nil {
		fmt.Fprintf(os.Stderr, "istio-crds: %v\n", err)
		os.Exit(1)
	}
}
