package main

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func TestBucket(t *testing.T) {
	opt := proxytest.NewEmulatorOption().
		WithPluginContext(func(uint32) types.PluginContext { return &pluginContext{} }).
		WithPluginConfiguration([]byte(`{"capacity":2,"refill_per_tick":1,"tick_ms":1000}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start failed")
	}
	if p := host.GetTickPeriod(); p != 1000 {
		t.Fatalf("tick period = %d", p)
	}
	send := func() *proxytest.LocalHttpResponse {
		id := host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "example.com"}}, true)
		return host.GetSentLocalResponse(id)
	}
	for i := 0; i < 2; i++ {
		if r := send(); r != nil {
			t.Fatalf("request %d: unexpected %d", i+1, r.StatusCode)
		}
	}
	r := send()
	if r == nil || r.StatusCode != 429 {
		t.Fatalf("third request: expected 429, got %+v", r)
	}
	if v := headerValue(r.Headers, "retry-after"); v != "1" {
		t.Errorf("retry-after = %q", v)
	}
	check := func(name string, get func(string) (uint64, error), want uint64) {
		t.Helper()
		if v, err := get(name); err != nil || v != want {
			t.Errorf("%s = %d (%v), want %d", name, v, err, want)
		}
	}
	check("go_rate_limit_allowed", host.GetCounterMetric, 2)
	check("go_rate_limit_denied", host.GetCounterMetric, 1)
	check("go_rate_limit_tokens", host.GetGaugeMetric, 0)

	host.Tick()
	check("go_rate_limit_tokens", host.GetGaugeMetric, 1)
	if r := send(); r != nil {
		t.Fatalf("after refill: unexpected %d", r.StatusCode)
	}
}

func headerValue(headers [][2]string, name string) string {
	for _, h := range headers {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}
