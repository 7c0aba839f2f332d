// go-rate-limit is a token-bucket rate limiter shared by every worker VM.
//
// The bucket lives in proxy-wasm shared data (one key, updated with
// compare-and-swap so that concurrent VMs never lose an update). Each request
// takes one token; without a token the plugin answers 429 with a
// "retry-after" header. The root context refills the bucket on a timer.
//
// Configuration:
//
//	{"capacity": 2, "refill_per_tick": 1, "tick_ms": 1000}
//
// Metrics: counters go_rate_limit_allowed and go_rate_limit_denied, gauge
// go_rate_limit_tokens (tokens left after the last change seen by this VM).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &pluginContext{} })
}

// bucketKey is the shared-data key of the bucket. Shared data is scoped to
// the vm_id, so plugins in other VMs do not see it.
const bucketKey = "go-rate-limit/tokens"

// maxCASRetries bounds the compare-and-swap loops.
const maxCASRetries = 10

type config struct {
	Capacity      uint64 `json:"capacity"`
	RefillPerTick uint64 `json:"refill_per_tick"`
	TickMs        uint32 `json:"tick_ms"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg        config
	retryAfter string
	allowed    proxywasm.MetricCounter
	denied     proxywasm.MetricCounter
	tokens     proxywasm.MetricGauge
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	p.cfg = config{Capacity: 10, RefillPerTick: 1, TickMs: 1000}
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
	if p.cfg.Capacity == 0 || p.cfg.RefillPerTick == 0 || p.cfg.TickMs == 0 {
		proxywasm.LogCritical("invalid plugin configuration: capacity, refill_per_tick and tick_ms must be positive")
		return types.OnPluginStartStatusFailed
	}
	// Seconds until the next refill, rounded up, as retry-after wants whole seconds.
	p.retryAfter = strconv.FormatUint(uint64((p.cfg.TickMs+999)/1000), 10)

	p.allowed = proxywasm.DefineCounterMetric("go_rate_limit_allowed")
	p.denied = proxywasm.DefineCounterMetric("go_rate_limit_denied")
	p.tokens = proxywasm.DefineGaugeMetric("go_rate_limit_tokens")

	// Create the bucket full, unless another VM already did.
	if _, _, err := proxywasm.GetSharedData(bucketKey); errors.Is(err, types.ErrorStatusNotFound) {
		if err := proxywasm.SetSharedData(bucketKey, encode(p.cfg.Capacity), 0); err != nil {
			proxywasm.LogCriticalf("creating the token bucket: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.setGauge(p.cfg.Capacity)
	}
	if err := proxywasm.SetTickPeriodMilliSeconds(p.cfg.TickMs); err != nil {
		proxywasm.LogCriticalf("setting the tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("go-rate-limit ready: capacity %d, +%d every %d ms", p.cfg.Capacity, p.cfg.RefillPerTick, p.cfg.TickMs)
	return types.OnPluginStartStatusOK
}

// OnTick refills the bucket.
func (p *pluginContext) OnTick() {
	left, changed, err := p.update(func(tokens uint64) (uint64, bool) {
		next := min(tokens+p.cfg.RefillPerTick, p.cfg.Capacity)
		return next, next != tokens
	})
	if err != nil {
		proxywasm.LogErrorf("refilling the token bucket: %v", err)
		return
	}
	if changed {
		proxywasm.LogDebugf("refilled: %d tokens", left)
	}
}

// take removes one token; it reports whether there was one.
func (p *pluginContext) take() (bool, uint64, error) {
	left, changed, err := p.update(func(tokens uint64) (uint64, bool) {
		if tokens == 0 {
			return 0, false
		}
		return tokens - 1, true
	})
	return changed, left, err
}

// update applies f to the bucket with compare-and-swap, retrying when another
// VM changed the bucket in between. f returns the new value and whether to write it.
func (p *pluginContext) update(f func(uint64) (uint64, bool)) (uint64, bool, error) {
	for range maxCASRetries {
		data, cas, err := proxywasm.GetSharedData(bucketKey)
		if err != nil {
			return 0, false, fmt.Errorf("reading the bucket: %w", err)
		}
		tokens, err := decode(data)
		if err != nil {
			return 0, false, err
		}
		next, write := f(tokens)
		if !write {
			p.setGauge(tokens)
			return tokens, false, nil
		}
		err = proxywasm.SetSharedData(bucketKey, encode(next), cas)
		if errors.Is(err, types.ErrorStatusCasMismatch) {
			continue // someone else won the race; read again
		}
		if err != nil {
			return 0, false, fmt.Errorf("writing the bucket: %w", err)
		}
		p.setGauge(next)
		return next, true, nil
	}
	return 0, false, errors.New("too much contention on the bucket")
}

// setGauge sets the gauge to v (the ABI only has "add to a gauge").
func (p *pluginContext) setGauge(v uint64) {
	if d := int64(v) - p.tokens.Value(); d != 0 {
		p.tokens.Add(d)
	}
}

func encode(tokens uint64) []byte { return []byte(strconv.FormatUint(tokens, 10)) }

func decode(data []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bucket holds %q: %w", data, err)
	}
	return v, nil
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	p := h.plugin
	ok, left, err := p.take()
	if err != nil {
		// Fail open: a broken bucket should not take the service down.
		proxywasm.LogErrorf("rate limiter unavailable, letting the request through: %v", err)
		return types.ActionContinue
	}
	if ok {
		p.allowed.Increment(1)
		proxywasm.LogInfof("allowed; tokens left: %d", left)
		return types.ActionContinue
	}
	p.denied.Increment(1)
	proxywasm.LogInfof("denied: bucket empty, retry after %ss", p.retryAfter)
	headers := [][2]string{
		{"retry-after", p.retryAfter},
		{"content-type", "text/plain; charset=utf-8"},
	}
	if err := proxywasm.SendHttpResponse(429, headers, []byte("rate limit exceeded\n"), -1); err != nil {
		proxywasm.LogErrorf("sending 429: %v", err)
	}
	return types.ActionPause
}
