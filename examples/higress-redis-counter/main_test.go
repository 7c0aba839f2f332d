package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/test"
)

var testConfig = json.RawMessage(`{
  "redis": {"service_name": "redis.static", "service_port": 80, "timeout": 500},
  "key_header": "x-api-key",
  "limit": 5
}`)

var request = [][2]string{
	{":authority", "example.com"}, {":method", "GET"}, {":path", "/orders?page=2"},
	{"x-api-key", "team-a"},
}

func TestCountIsForwarded(t *testing.T) {
	test.RunGoTest(t, func(t *testing.T) {
		host, status := test.NewTestHost(testConfig)
		if status != types.OnPluginStartStatusOK {
			t.Fatalf("plugin start failed")
		}
		defer host.Reset()
		if a := host.CallOnHttpRequestHeaders(request, test.WithEndOfStream(true)); a != types.HeaderStopAllIterationAndWatermark {
			t.Fatalf("expected the request to wait for Redis, got %v", a)
		}
		calls := host.GetRedisCalloutAttributes()
		if len(calls) != 1 || calls[0].Upstream != "outbound|80||redis.static" {
			t.Fatalf("unexpected redis calls %+v", calls)
		}
		if q := string(calls[0].Query); !strings.Contains(q, "incr") || !strings.Contains(q, "request-count:team-a") {
			t.Errorf("query = %q", q)
		}
		host.CallOnRedisCall(0, test.CreateRedisResp(3))
		if a := host.GetHttpStreamAction(); a != types.ActionContinue {
			t.Fatalf("expected the request to be resumed, got %v", a)
		}
		found := false
		for _, h := range host.GetRequestHeaders() {
			if h[0] == CountHeader && h[1] == "3" {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %s: 3 in %v", CountHeader, host.GetRequestHeaders())
		}
	})
}

func TestOverLimit(t *testing.T) {
	test.RunGoTest(t, func(t *testing.T) {
		host, _ := test.NewTestHost(testConfig)
		defer host.Reset()
		host.CallOnHttpRequestHeaders(request, test.WithEndOfStream(true))
		host.CallOnRedisCall(0, test.CreateRedisResp(6))
		if r := host.GetLocalResponse(); r == nil || r.StatusCode != 429 {
			t.Fatalf("expected 429, got %+v", r)
		}
	})
}
