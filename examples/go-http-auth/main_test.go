package main

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func newHost(t *testing.T) (proxytest.HostEmulator, func()) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().
		WithPluginContext(func(uint32) types.PluginContext { return &pluginContext{} }).
		WithPluginConfiguration([]byte(`{"cluster":"auth","path":"/check","authority":"auth.internal","timeout_ms":500}`))
	host, reset := proxytest.NewHostEmulator(opt)
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start failed")
	}
	return host, reset
}

var request = [][2]string{
	{":method", "GET"}, {":path", "/orders"}, {":authority", "example.com"},
	{"authorization", "Bearer good-token"},
}

func TestAllowed(t *testing.T) {
	host, reset := newHost(t)
	defer reset()
	id := host.InitializeHttpContext()
	if a := host.CallOnRequestHeaders(id, request, true); a != types.ActionPause {
		t.Fatalf("expected pause, got %v", a)
	}
	callouts := host.GetCalloutAttributesFromContext(id)
	if len(callouts) != 1 {
		t.Fatalf("expected 1 callout, got %d", len(callouts))
	}
	c := callouts[0]
	if c.Upstream != "auth" {
		t.Errorf("cluster = %q", c.Upstream)
	}
	want := map[string]string{":path": "/check", ":authority": "auth.internal", "authorization": "Bearer good-token", ":method": "GET"}
	for k, v := range want {
		if got := headerValue(c.Headers, k); got != v {
			t.Errorf("callout header %s = %q, want %q", k, got, v)
		}
	}
	host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", "200"}, {"x-auth-user", "alice"}}, nil, nil)
	if a := host.GetCurrentHttpStreamAction(id); a != types.ActionContinue {
		t.Fatalf("expected the request to be resumed, got %v", a)
	}
	if v := headerValue(host.GetCurrentRequestHeaders(id), "x-auth-user"); v != "alice" {
		t.Errorf("x-auth-user = %q", v)
	}
	if r := host.GetSentLocalResponse(id); r != nil {
		t.Errorf("unexpected local reply %d", r.StatusCode)
	}
}

func TestDenied(t *testing.T) {
	host, reset := newHost(t)
	defer reset()
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, request, true)
	c := host.GetCalloutAttributesFromContext(id)[0]
	host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", "401"}}, nil, []byte("bad token"))
	r := host.GetSentLocalResponse(id)
	if r == nil || r.StatusCode != 403 || string(r.Data) != "access denied\n" {
		t.Fatalf("expected a 403 local reply, got %+v", r)
	}
}
