#!/usr/bin/env bash
# A lab's deployment on one machine: a Chroma server, an LLM server and the app, each
# started only when asked for, each waited for until its health check answers.
#
#   scripts/lab.sh start [--chroma] [--llm-gguf FILE | --llm-url URL --llm-model NAME] [--app] [--dir DIR]
#   scripts/lab.sh stop  [--dir DIR]
#   scripts/lab.sh env   [--dir DIR]    # the ASSISTANT_* settings that point at what runs
#
# --chroma          `chroma run` on DIR/chroma (port $CHROMA_PORT, or a free one)
# --llm-gguf FILE   llama.cpp's OpenAI-protocol server on FILE (port $LLM_PORT, or a free one;
#                   needs requirements-llamacpp.txt installed, as `make install-dev` does)
# --llm-url URL     a server already running (vLLM, Ollama's /v1, a gateway): only checked
# --app             the app (port $APP_PORT, default 8501), using what was started
# --dir DIR         where pids, logs and the Chroma data go (default: ./lab)
#
# Each server's pid, log and address are kept in DIR/run/; `stop` ends them (and their
# children). Run `eval "$(scripts/lab.sh env)"` to point a terminal's commands at them.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
DIR=lab
CHROMA=0 APP=0 GGUF="" LLM_URL="" LLM_MODEL=""
command=${1:-}
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
    case "$1" in
        --chroma) CHROMA=1 ;;
        --app) APP=1 ;;
        --llm-gguf) GGUF=$2; shift ;;
        --llm-url) LLM_URL=$2; shift ;;
        --llm-model) LLM_MODEL=$2; shift ;;
        --dir) DIR=$2; shift ;;
        *) echo "lab.sh: unknown option $1 (see the top of scripts/lab.sh)" >&2; exit 2 ;;
    esac
    shift
done
RUN="$DIR/run"

free_port() { "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

healthy() {  # url: answers within 2 s
    "$BIN/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
}

wait_for() {  # name url: up to 120 s, or the server's log and a failure
    local name=$1 url=$2
    for _ in $(seq 1 240); do
        if healthy "$url"; then echo "$name is up at $url"; return 0; fi
        if ! kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then break; fi
        sleep 0.5
    done
    echo "$name did not start; the end of $RUN/$name.log:" >&2
    tail -40 "$RUN/$name.log" >&2
    return 1
}

launch() {  # name health-url command...: started in its own process group, pid kept
    local name=$1 url=$2
    shift 2
    if [ -f "$RUN/$name.pid" ] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
        echo "$name is running already (pid $(cat "$RUN/$name.pid"))"
        return 0
    fi
    setsid "$@" >"$RUN/$name.log" 2>&1 < /dev/null &
    echo $! >"$RUN/$name.pid"
    echo "$url" >"$RUN/$name.url"
    wait_for "$name" "$url"
}

settings() {  # the settings for what runs, one `export` a line
    if [ -f "$RUN/chroma.url" ]; then
        local hostport
        hostport=$(sed -E 's#^http://([^/]+)/.*#\1#' "$RUN/chroma.url")
        echo "export ASSISTANT_CHROMA__HOST=${hostport%:*} ASSISTANT_CHROMA__PORT=${hostport##*:}"
    fi
    if [ -f "$RUN/llm.base" ]; then
        echo "export ASSISTANT_LLM__PROVIDER=openai ASSISTANT_LLM__BASE_URL=$(cat "$RUN/llm.base") ASSISTANT_LLM__MODEL=$(cat "$RUN/llm.model")"
    fi
}

start() {
    mkdir -p "$RUN"
    if [ "$CHROMA" = 1 ]; then
        local port=${CHROMA_PORT:-$(free_port)}
        launch chroma "http://127.0.0.1:$port/api/v2/heartbeat" \
            "$BIN/chroma" run --path "$DIR/chroma" --host 127.0.0.1 --port "$port"
    fi
    if [ -n "$GGUF" ]; then
        [ -f "$GGUF" ] || { echo "lab.sh: no model file at $GGUF: give a .gguf file" >&2; exit 2; }
        local port=${LLM_PORT:-$(free_port)} alias=${LLM_MODEL:-$(basename "$GGUF" .gguf)}
        launch llm "http://127.0.0.1:$port/v1/models" \
            "$BIN/python" -m llama_cpp.server --model "$GGUF" --model_alias "$alias" --host 127.0.0.1 \
            --port "$port" --n_ctx 4096 --n_threads "${LLM_THREADS:-2}" --logits_all False
        echo "http://127.0.0.1:$port/v1" >"$RUN/llm.base"
        echo "$alias" >"$RUN/llm.model"
    elif [ -n "$LLM_URL" ]; then
        [ -n "$LLM_MODEL" ] || { echo "lab.sh: --llm-url needs --llm-model NAME (the name the server gives the model)" >&2; exit 2; }
        if ! healthy "${LLM_URL%/}/models"; then
            echo "lab.sh: the LLM server at $LLM_URL does not answer ${LLM_URL%/}/models: start it first" >&2
            exit 1
        fi
        echo "the LLM server at $LLM_URL answers"
        echo "${LLM_URL%/}" >"$RUN/llm.base"
        echo "$LLM_MODEL" >"$RUN/llm.model"
    fi
    if [ "$APP" = 1 ]; then
        local port=${APP_PORT:-8501}
        eval "$(settings)"
        launch app "http://127.0.0.1:$port/_stcore/health" \
            "$BIN/python" -m streamlit run app.py --server.port "$port" --server.address 0.0.0.0 \
            --server.headless true --browser.gatherUsageStats false
    fi
}

stop() {
    [ -d "$RUN" ] || return 0
    for pidfile in "$RUN"/*.pid; do
        [ -e "$pidfile" ] || continue
        local pid
        pid=$(cat "$pidfile")
        # Its process group: a server's own workers end with it.
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 -- "-$pid" 2>/dev/null || true
        echo "stopped $(basename "$pidfile" .pid)"
        rm -f "$pidfile" "${pidfile%.pid}.url"
    done
    rm -f "$RUN/llm.base" "$RUN/llm.model"
}

case "$command" in
    start) start ;;
    stop) stop ;;
    env) settings ;;
    *) echo "usage: scripts/lab.sh start|stop|env [options] (see the top of scripts/lab.sh)" >&2; exit 2 ;;
esac
