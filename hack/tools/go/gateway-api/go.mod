// The Gateway API release whose standard-channel CRDs the tests install into the
// local cluster; nothing here is built.
module handtracker.dev/tools/gateway-api

go 1.26.0

require sigs.k8s.io/gateway-api v1.6.3 // indirect
