// go-token-refresh adds a bearer token to every request, and fetches that token
// from a token service on a timer.
//
// The root context sets a tick period at start-up; on each tick it asks the
// token cluster for a fresh token with DispatchHttpCall. Requests that arrive
// before the first token are paused and remembered; when the token arrives, the
// root context makes each of them the effective context in turn, sets its
// authorization header and resumes it. Later requests get the token at once.
// If the token service fails before any token was fetched, the waiting
// requests are answered 503; a failed refresh keeps the token already held.
//
// Configuration (all fields optional):
//
//	{"cluster": "token", "path": "/token", "authority": "token.internal",
//	 "refresh_ms": 60000, "timeout_ms": 1000}
package main

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &pluginContext{} })
}

type config struct {
	// Cluster is the Envoy cluster of the token service.
	Cluster string `json:"cluster"`
	// Path is the :path of the token request.
	Path string `json:"path"`
	// Authority is the :authority of the token request; defaults to the cluster name.
	Authority string `json:"authority"`
	// RefreshMs is how often the token is fetched again.
	RefreshMs uint32 `json:"refresh_ms"`
	// TimeoutMs bounds each token request.
	TimeoutMs uint32 `json:"timeout_ms"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg config
	// token is the last token fetched; empty until the first refresh succeeds.
	token string
	// fetching is set while a token request is in flight.
	fetching bool
	// waiting lists the streams paused until a token arrives, in arrival order.
	waiting []uint32
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	p.cfg = config{Cluster: "token", Path: "/token", RefreshMs: 60000, TimeoutMs: 1000}
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p.cfg); err != nil {
			proxywasm.LogCriticalf("invalid plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	if p.cfg.Cluster == "" || !strings.HasPrefix(p.cfg.Path, "/") || p.cfg.RefreshMs == 0 {
		proxywasm.LogCritical("invalid plugin configuration: need a cluster, a path starting with / and a positive refresh_ms")
		return types.OnPluginStartStatusFailed
	}
	if p.cfg.Authority == "" {
		p.cfg.Authority = p.cfg.Cluster
	}
	if err := proxywasm.SetTickPeriodMilliSeconds(p.cfg.RefreshMs); err != nil {
		proxywasm.LogCriticalf("setting the tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("go-token-refresh ready: fetching a token from %s%s every %d ms", p.cfg.Cluster, p.cfg.Path, p.cfg.RefreshMs)
	return types.OnPluginStartStatusOK
}

// OnTick asks the token service for a fresh token, unless a request is already out.
func (p *pluginContext) OnTick() {
	if p.fetching {
		return
	}
	headers := [][2]string{
		{":method", "GET"},
		{":path", p.cfg.Path},
		{":authority", p.cfg.Authority},
	}
	if _, err := proxywasm.DispatchHttpCall(p.cfg.Cluster, headers, nil, nil, p.cfg.TimeoutMs, p.onToken); err != nil {
		proxywasm.LogErrorf("asking %q for a token failed: %v", p.cfg.Cluster, err)
		p.refreshFailed()
		return
	}
	p.fetching = true
	proxywasm.LogInfof("token refresh sent to %s%s", p.cfg.Cluster, p.cfg.Path)
}

// onToken runs in the root context when the token service answers.
func (p *pluginContext) onToken(numHeaders, bodySize, _ int) {
	p.fetching = false
	if numHeaders == 0 {
		proxywasm.LogWarn("token refresh failed: no answer")
		p.refreshFailed()
		return
	}
	headers, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		proxywasm.LogErrorf("reading the token answer: %v", err)
		p.refreshFailed()
		return
	}
	if status := headerValue(headers, ":status"); status != "200" {
		proxywasm.LogWarnf("token refresh failed: the token service answered %s", status)
		p.refreshFailed()
		return
	}
	body, err := proxywasm.GetHttpCallResponseBody(0, bodySize)
	token := strings.TrimSpace(string(body))
	if err != nil || token == "" {
		proxywasm.LogWarnf("token refresh failed: empty token (%v)", err)
		p.refreshFailed()
		return
	}
	p.token = token
	proxywasm.LogInfof("token refreshed; resuming %d waiting requests", len(p.waiting))
	for _, id := range p.drain() {
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			proxywasm.LogErrorf("request %d is gone: %v", id, err)
			continue
		}
		if err := proxywasm.ReplaceHttpRequestHeader("authorization", "Bearer "+p.token); err != nil {
			proxywasm.LogErrorf("setting the token on request %d: %v", id, err)
		}
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("resuming request %d: %v", id, err)
		}
	}
}

// refreshFailed keeps the token held, if any; without one, the requests that
// wait for it get 503.
func (p *pluginContext) refreshFailed() {
	if p.token != "" {
		return
	}
	for _, id := range p.drain() {
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			continue
		}
		headers := [][2]string{{"content-type", "text/plain; charset=utf-8"}}
		if err := proxywasm.SendHttpResponse(503, headers, []byte("token service unavailable\n"), -1); err != nil {
			proxywasm.LogErrorf("answering request %d: %v", id, err)
		}
	}
}

// drain empties the waiting list and returns it.
func (p *pluginContext) drain() []uint32 {
	ids := p.waiting
	p.waiting = nil
	return ids
}

func (p *pluginContext) forget(id uint32) {
	for i, w := range p.waiting {
		if w == id {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			return
		}
	}
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{plugin: p, id: contextID}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
	id     uint32
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	p := h.plugin
	if p.token != "" {
		if err := proxywasm.ReplaceHttpRequestHeader("authorization", "Bearer "+p.token); err != nil {
			proxywasm.LogErrorf("setting the token: %v", err)
		}
		return types.ActionContinue
	}
	p.waiting = append(p.waiting, h.id)
	proxywasm.LogInfof("no token yet; request %d waits for the next refresh", h.id)
	return types.ActionPause
}

// OnHttpStreamDone forgets a request that ended while it waited.
func (h *httpContext) OnHttpStreamDone() {
	h.plugin.forget(h.id)
}

func headerValue(headers [][2]string, name string) string {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}
