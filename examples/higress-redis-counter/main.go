// higress-redis-counter counts requests in Redis with the wasm-go wrapper's
// Redis client, and tells the upstream the count.
//
// For each request it sends INCR <key_prefix><key> to Redis, where <key> is
// the value of the "key_header" request header (falling back to the request
// path without its query). The request is paused until Redis answers; then
// the plugin adds "x-request-count: <n>" to the request and resumes it, or
// answers 429 itself when n is above "limit" (0 = no limit). When Redis is
// unreachable or answers with an error the request goes through uncounted.
//
// Configuration:
//
//	{
//	  "redis": {"service_name": "redis.static", "service_port": 6379,
//	            "username": "", "password": "", "timeout": 1000, "database": 0},
//	  "key_header": "x-api-key", "key_prefix": "request-count:", "limit": 100
//	}
package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/log"
	"github.com/higress-group/wasm-go/pkg/wrapper"
	"github.com/tidwall/gjson"
	"github.com/tidwall/resp"
)

func main() {}

func init() {
	wrapper.SetCtx(
		"redis-counter",
		wrapper.ParseConfig(parseConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
	)
}

// CountHeader is the request header that carries the count upstream.
const CountHeader = "x-request-count"

type CounterConfig struct {
	client    wrapper.RedisClient
	keyHeader string
	keyPrefix string
	limit     int64
}

func parseConfig(json gjson.Result, config *CounterConfig) error {
	redis := json.Get("redis")
	serviceName := redis.Get("service_name").String()
	if serviceName == "" {
		return errors.New("redis.service_name is required (e.g. redis.static or redis.default.svc.cluster.local)")
	}
	port := redis.Get("service_port").Int()
	if port == 0 {
		if strings.HasSuffix(serviceName, ".static") {
			port = 80 // Higress static services listen on 80 unless told otherwise
		} else {
			port = 6379
		}
	}
	timeout := redis.Get("timeout").Int()
	if timeout <= 0 {
		timeout = 1000
	}
	config.keyHeader = strings.ToLower(json.Get("key_header").String())
	config.keyPrefix = json.Get("key_prefix").String()
	if config.keyPrefix == "" {
		config.keyPrefix = "request-count:"
	}
	config.limit = json.Get("limit").Int()
	if config.limit < 0 {
		return errors.New("limit must be 0 (no limit) or positive")
	}

	client := wrapper.NewRedisClusterClient(wrapper.FQDNCluster{FQDN: serviceName, Port: port})
	config.client = client
	// Init registers the cluster with the host (proxy_redis_init). A failure
	// is logged and retried by the client on the first command.
	return client.Init(redis.Get("username").String(), redis.Get("password").String(), timeout,
		wrapper.WithDataBase(int(redis.Get("database").Int())))
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config CounterConfig) types.Action {
	key := ""
	if config.keyHeader != "" {
		key, _ = proxywasm.GetHttpRequestHeader(config.keyHeader)
	}
	if key == "" {
		key, _, _ = strings.Cut(ctx.Path(), "?")
	}
	redisKey := config.keyPrefix + key

	err := config.client.Incr(redisKey, func(response resp.Value) {
		if err := response.Error(); err != nil {
			log.Errorf("INCR %s failed: %v; letting the request through uncounted", redisKey, err)
			_ = proxywasm.ResumeHttpRequest()
			return
		}
		count := response.Integer()
		if config.limit > 0 && int64(count) > config.limit {
			log.Infof("%s: %d requests, over the limit of %d; answering 429", redisKey, count, config.limit)
			_ = proxywasm.SendHttpResponseWithDetail(429, "redis-counter.over_limit",
				[][2]string{{"content-type", "text/plain; charset=utf-8"}},
				[]byte("too many requests\n"), -1)
			return
		}
		// The request is still paused, so its headers are writable here.
		if err := proxywasm.ReplaceHttpRequestHeader(CountHeader, strconv.Itoa(count)); err != nil {
			log.Errorf("setting %s: %v", CountHeader, err)
		}
		log.Infof("%s: request number %d", redisKey, count)
		_ = proxywasm.ResumeHttpRequest()
	})
	if err != nil {
		log.Errorf("INCR %s could not be sent: %v; letting the request through uncounted", redisKey, err)
		return types.HeaderContinue
	}
	// Wait for Redis; the callback resumes the request.
	return types.HeaderStopAllIterationAndWatermark
}
