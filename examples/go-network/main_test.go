package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func start(t *testing.T, config string) (proxytest.HostEmulator, func()) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().
		WithPluginContext(func(uint32) types.PluginContext { return &pluginContext{} }).
		WithPluginConfiguration([]byte(config))
	host, reset := proxytest.NewHostEmulator(opt)
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		reset()
		t.Fatalf("plugin start failed")
	}
	return host, reset
}

func counter(t *testing.T, host proxytest.HostEmulator, name string) uint64 {
	t.Helper()
	v, err := host.GetCounterMetric(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestCountsBytesEachWay(t *testing.T) {
	host, reset := start(t, `{}`)
	defer reset()
	id, action := host.InitializeConnection()
	if action != types.ActionContinue {
		t.Fatalf("new connection: %v", action)
	}
	if a := host.CallOnDownstreamData(id, []byte("ping")); a != types.ActionContinue {
		t.Fatalf("downstream data: %v", a)
	}
	host.CallOnUpstreamData(id, []byte("pong!"))
	host.CompleteConnection(id)
	if got := counter(t, host, "tcp_downstream_bytes_total"); got != 4 {
		t.Errorf("downstream bytes: %d", got)
	}
	if got := counter(t, host, "tcp_upstream_bytes_total"); got != 5 {
		t.Errorf("upstream bytes: %d", got)
	}
	logs := host.GetInfoLogs()
	if !slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "4 bytes from downstream, 5 from upstream") }) {
		t.Errorf("no summary in %q", logs)
	}
}

func TestHoldsAPossibleDenyWordAndClosesOnIt(t *testing.T) {
	host, reset := start(t, `{"deny": "DROP TABLE"}`)
	defer reset()
	id, _ := host.InitializeConnection()
	if a := host.CallOnDownstreamData(id, []byte("SELECT 1; DROP")); a != types.ActionPause {
		t.Fatalf("a read ending with the start of the word is held, got %v", a)
	}
	if a := host.CallOnDownstreamData(id, []byte(" TABLE users;")); a != types.ActionPause {
		t.Fatalf("the word completed is refused, got %v", a)
	}
	if got := counter(t, host, "tcp_denied_total"); got != 1 {
		t.Errorf("denied: %d", got)
	}
	if got := counter(t, host, "tcp_downstream_bytes_total"); got != 27 {
		t.Errorf("downstream bytes counted once each: %d", got)
	}
}
