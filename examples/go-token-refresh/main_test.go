package main

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func TestRequestsWaitForTheFirstToken(t *testing.T) {
	opt := proxytest.NewEmulatorOption().
		WithPluginContext(func(uint32) types.PluginContext { return &pluginContext{} }).
		WithPluginConfiguration([]byte(`{"refresh_ms": 1000}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start failed")
	}
	if p := host.GetTickPeriod(); p != 1000 {
		t.Fatalf("tick period = %d", p)
	}
	req := [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "example.com"}}
	id := host.InitializeHttpContext()
	if a := host.CallOnRequestHeaders(id, req, true); a != types.ActionPause {
		t.Fatalf("without a token the request should wait, got %v", a)
	}
	host.Tick()
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	if len(calls) != 1 || calls[0].Upstream != "token" {
		t.Fatalf("expected one token request, got %+v", calls)
	}
	host.CallOnHttpCallResponse(calls[0].CalloutID, [][2]string{{":status", "200"}}, nil, []byte("t-1\n"))
	if got := host.GetCurrentHttpStreamAction(id); got != types.ActionContinue {
		t.Errorf("the waiting request was not resumed: %v", got)
	}
	if v := headerValue(host.GetCurrentRequestHeaders(id), "authorization"); v != "Bearer t-1" {
		t.Errorf("authorization = %q", v)
	}
	// A request after the refresh gets the token at once.
	id2 := host.InitializeHttpContext()
	if a := host.CallOnRequestHeaders(id2, req, true); a != types.ActionContinue {
		t.Fatalf("with a token the request should go on, got %v", a)
	}
}
