package main

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func TestRewrite(t *testing.T) {
	opt := proxytest.NewEmulatorOption().
		WithPluginContext(func(uint32) types.PluginContext { return &pluginContext{} }).
		WithPluginConfiguration([]byte(`{"set":{"role":"guest"},"redact":["password"]}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start failed")
	}
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{
		{":method", "POST"}, {":path", "/users"}, {":authority", "example.com"},
		{"content-type", "application/json"}, {"content-length", "55"},
	}, false)
	if v := headerValue(host.GetCurrentRequestHeaders(id), "content-length"); v != "" {
		t.Errorf("content-length still present: %q", v)
	}
	if a := host.CallOnRequestBody(id, []byte(`{"user":"alice", "role":"admin",`), false); a != types.ActionPause {
		t.Fatalf("first chunk: expected pause, got %v", a)
	}
	if a := host.CallOnRequestBody(id, []byte(`"password":"hunter2"}`), true); a != types.ActionContinue {
		t.Fatalf("last chunk: expected continue, got %v", a)
	}
	want := `{"user":"alice","role":"guest","password":"[redacted]"}`
	if got := string(host.GetCurrentRequestBody(id)); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestNotJSON(t *testing.T) {
	cfg := &config{Set: nil, Redact: []string{"x"}}
	if _, _, err := rewrite([]byte(`[1,2]`), cfg); err == nil {
		t.Error("expected an error for an array")
	}
	if _, _, err := rewrite([]byte(`{"a":1} x`), cfg); err == nil {
		t.Error("expected an error for trailing data")
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
