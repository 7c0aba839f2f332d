// go-network is an L4 (TCP) network filter: it logs what each side of a proxied
// connection sends, counts connections and bytes in metrics, and closes a
// connection whose client sends a configured word.
//
// The plugin configuration is an optional JSON document:
//
//	{"deny": "DROP TABLE", "log_bytes": 64}
//
// "deny" closes the client's connection (proxy_close_stream) as soon as its
// bytes contain the word; nothing of that read reaches the upstream. Because
// a word may arrive split over two reads, the filter holds (returns
// ActionPause) a read that ends with a prefix of the word and looks again
// when the next read arrives: Envoy keeps held bytes in the connection buffer
// and shows them again with the next read. "log_bytes" caps how much of each
// read is logged (default 64).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &pluginContext{} })
}

type config struct {
	Deny     string `json:"deny"`
	LogBytes int    `json:"log_bytes"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg         config
	connections proxywasm.MetricCounter
	downBytes   proxywasm.MetricCounter
	upBytes     proxywasm.MetricCounter
	denied      proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	p.cfg = config{LogBytes: 64}
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &p.cfg); err != nil {
			proxywasm.LogCriticalf("invalid configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	p.connections = proxywasm.DefineCounterMetric("tcp_connections_total")
	p.downBytes = proxywasm.DefineCounterMetric("tcp_downstream_bytes_total")
	p.upBytes = proxywasm.DefineCounterMetric("tcp_upstream_bytes_total")
	p.denied = proxywasm.DefineCounterMetric("tcp_denied_total")
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewTcpContext(contextID uint32) types.TcpContext {
	return &conn{plugin: p, id: contextID}
}

type conn struct {
	types.DefaultTcpContext
	plugin *pluginContext
	id     uint32
	// Bytes of the current connection buffer already counted, per direction:
	// a held buffer is shown again with the next read, and must not be
	// counted twice.
	downSeen, upSeen int
	down, up         int
}

func (c *conn) OnNewConnection() types.Action {
	c.plugin.connections.Increment(1)
	from, err := proxywasm.GetProperty([]string{"source", "address"})
	if err != nil {
		from = []byte("unknown")
	}
	proxywasm.LogInfof("connection %d from %s", c.id, from)
	return types.ActionContinue
}

func (c *conn) OnDownstreamData(size int, endOfStream bool) types.Action {
	data, err := proxywasm.GetDownstreamData(0, size)
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("reading downstream data: %v", err)
		return types.ActionContinue
	}
	c.count(&c.downSeen, &c.down, c.plugin.downBytes, len(data))
	proxywasm.LogInfof(">>> %d bytes from downstream%s: %s", len(data), eos(endOfStream), c.shown(data))
	deny := []byte(c.plugin.cfg.Deny)
	if len(deny) > 0 {
		if bytes.Contains(data, deny) {
			proxywasm.LogWarnf("connection %d: client sent %q, closing it", c.id, deny)
			c.plugin.denied.Increment(1)
			if err := proxywasm.CloseDownstream(); err != nil {
				proxywasm.LogErrorf("closing downstream: %v", err)
			}
			return types.ActionPause
		}
		if !endOfStream && endsWithPrefix(data, deny) {
			// The word may go on in the next read: hold these bytes.
			proxywasm.LogDebugf("connection %d: holding %d bytes (may start %q)", c.id, len(data), deny)
			return types.ActionPause
		}
	}
	c.downSeen = 0
	return types.ActionContinue
}

func (c *conn) OnUpstreamData(size int, endOfStream bool) types.Action {
	data, err := proxywasm.GetUpstreamData(0, size)
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("reading upstream data: %v", err)
		return types.ActionContinue
	}
	c.count(&c.upSeen, &c.up, c.plugin.upBytes, len(data))
	c.upSeen = 0
	proxywasm.LogInfof("<<< %d bytes from upstream%s: %s", len(data), eos(endOfStream), c.shown(data))
	return types.ActionContinue
}

func (c *conn) OnDownstreamClose(peer types.PeerType) {
	proxywasm.LogInfof("connection %d: downstream closed (%s)", c.id, peerName(peer))
}

func (c *conn) OnUpstreamClose(peer types.PeerType) {
	proxywasm.LogInfof("connection %d: upstream closed (%s)", c.id, peerName(peer))
}

func (c *conn) OnStreamDone() {
	proxywasm.LogInfof("connection %d done: %d bytes from downstream, %d from upstream", c.id, c.down, c.up)
}

// count adds the bytes of a buffer not yet counted (a held buffer comes back
// with the next read appended) to the connection's total and the metric.
func (c *conn) count(seen, total *int, m proxywasm.MetricCounter, size int) {
	if size > *seen {
		m.Increment(uint64(size - *seen))
		*total += size - *seen
	}
	*seen = size
}

func (c *conn) shown(data []byte) string {
	limit := c.plugin.cfg.LogBytes
	if limit > 0 && len(data) > limit {
		return fmt.Sprintf("%q…", data[:limit])
	}
	return fmt.Sprintf("%q", data)
}

// endsWithPrefix reports whether data ends with a non-empty proper prefix of word.
func endsWithPrefix(data, word []byte) bool {
	for n := min(len(word)-1, len(data)); n > 0; n-- {
		if bytes.HasSuffix(data, word[:n]) {
			return true
		}
	}
	return false
}

func eos(end bool) string {
	if end {
		return " (end of stream)"
	}
	return ""
}

func peerName(p types.PeerType) string {
	switch p {
	case types.PeerTypeLocal:
		return "local"
	case types.PeerTypeRemote:
		return "remote"
	default:
		return "unknown"
	}
}
