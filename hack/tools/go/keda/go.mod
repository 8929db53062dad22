// The KEDA release whose CRDs (ScaledObject, ...) the tests install to check the KEDA
// example against; nothing here is built.
module handtracker.dev/tools/keda

go 1.26.0

require github.com/kedacore/keda/v2 v2.20.2 // indirect
