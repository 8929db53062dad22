// The prometheus-operator release whose CRDs (ServiceMonitor, PrometheusRule, ...)
// the tests install into the local cluster; nothing here is built. v0.85.0 is the
// newest release of the root module on the module proxy (later tags only publish
// pkg/apis/monitoring, which holds no CRD files).
module handtracker.dev/tools/prometheus-operator

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.85.0 // indirect
