module github.com/proxy-wasm-playground/proxy-wasm-playground/examples/go-network

go 1.24

require github.com/proxy-wasm/proxy-wasm-go-sdk v0.0.0-20260105142703-44c7d5847745

require github.com/tetratelabs/wazero v1.7.2 // indirect
