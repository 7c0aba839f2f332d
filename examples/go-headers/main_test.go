package main

import (
	"slices"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

const testConfig = `{
  "request":  {"add": {"x-request-source": "proxy-wasm"}, "set": {"user-agent": "playground/1.0"}, "remove": ["x-remove-me"]},
  "response": {"add": {"x-served-by": "go-headers"}, "set": {"cache-control": "no-store"}, "remove": ["server"]}
}`

func lookup(headers [][2]string, name string) (string, bool) {
	i := slices.IndexFunc(headers, func(h [2]string) bool { return h[0] == name })
	if i < 0 {
		return "", false
	}
	return headers[i][1], true
}

func TestHeaders(t *testing.T) {
	opt := proxytest.NewEmulatorOption().
		WithPluginContext(func(uint32) types.PluginContext { return &pluginContext{} }).
		WithPluginConfiguration([]byte(testConfig))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start failed")
	}
	id := host.InitializeHttpContext()
	action := host.CallOnRequestHeaders(id, [][2]string{
		{":method", "GET"}, {":path", "/"}, {":authority", "example.com"},
		{"x-remove-me", "1"}, {"user-agent", "curl/8"},
	}, true)
	if action != types.ActionContinue {
		t.Fatalf("request headers: got action %v", action)
	}
	req := host.GetCurrentRequestHeaders(id)
	if _, ok := lookup(req, "x-remove-me"); ok {
		t.Errorf("x-remove-me still present: %v", req)
	}
	if v, _ := lookup(req, "user-agent"); v != "playground/1.0" {
		t.Errorf("user-agent = %q", v)
	}
	if v, _ := lookup(req, "x-request-source"); v != "proxy-wasm" {
		t.Errorf("x-request-source = %q", v)
	}

	host.CallOnResponseHeaders(id, [][2]string{
		{":status", "200"}, {"server", "upstream"}, {"cache-control", "max-age=60"},
	}, false)
	resp := host.GetCurrentResponseHeaders(id)
	if _, ok := lookup(resp, "server"); ok {
		t.Errorf("server still present: %v", resp)
	}
	if v, _ := lookup(resp, "cache-control"); v != "no-store" {
		t.Errorf("cache-control = %q", v)
	}
	if v, _ := lookup(resp, "x-served-by"); v != "go-headers" {
		t.Errorf("x-served-by = %q", v)
	}
	want := []string{
		"go-headers ready: 3 request and 3 response edits",
		`request: removed x-remove-me (was "1")`,
		`request: set user-agent: playground/1.0 (was "curl/8")`,
		"request: added x-request-source: proxy-wasm",
		`response: removed server (was "upstream")`,
		`response: set cache-control: no-store (was "max-age=60")`,
		"response: added x-served-by: go-headers",
	}
	if got := host.GetInfoLogs(); !slices.Equal(got, want) {
		t.Errorf("info logs:\n got %q\nwant %q", got, want)
	}
}

func TestInvalidConfig(t *testing.T) {
	opt := proxytest.NewEmulatorOption().
		WithPluginContext(func(uint32) types.PluginContext { return &pluginContext{} }).
		WithPluginConfiguration([]byte(`{"request":{"add":["not-a-map"]}}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusFailed {
		t.Fatalf("expected start failure")
	}
}
