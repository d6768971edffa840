// Package devserver exposes a client over a small JSON HTTP API, so the dev
// server can be driven with curl or the weft CLI.
//
//	POST /v1/workflows/{workflow}/{method}[?wait=1&id=..]  body: input JSON
//	GET  /v1/instances/{id}                                state as JSON
//	GET  /v1/instances/{id}/result                         result record
//	POST /v1/instances/{workflow}/{id}/signals/{channel}   body: signal JSON
//	POST /v1/instances/{workflow}/{id}/cancel
//	POST /v1/instances/{workflow}/{id}/retry-workflow-task
//	POST /v1/instances/{workflow}/{id}/retry-tasks
//	POST /v1/instances/{workflow}/{id}/complete-timers
//	POST /v1/events                                        a CloudEvent, mapped by the triggers
//	GET  /healthz
//
// The API is guarded (see Options): cross-origin state changes are
// refused, and so is every request without the token when one is set, or,
// when none is, addressed to a host that is not a loopback name.
package devserver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
)

// MaxBody bounds request bodies.
const MaxBody = 1 << 20

// Handler serves the API with c, guarded as o says.
func Handler(c *client.Client, o Options) http.Handler {
	mux := http.NewServeMux()
	s := &server{c: c, ev: o.Events}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := c.Healthy(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /v1/workflows/{workflow}/{method}", s.dispatch)
	mux.HandleFunc("GET /v1/instances/{id}", s.describe)
	mux.HandleFunc("GET /v1/instances/{id}/result", s.result)
	mux.HandleFunc("POST /v1/instances/{workflow}/{id}/signals/{channel}", s.signal)
	mux.HandleFunc("POST /v1/instances/{workflow}/{id}/{action}", s.action)
	mux.HandleFunc("POST /v1/events", s.events)
	return guarded(checked(mux), o)
}

// checked refuses, with a 400 naming the parameter, a request whose path
// segments or query values hold NUL or invalid UTF-8: JSON would turn such
// an id into another one (U+FFFD), so a wait on it would never end.
func checked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad := func(v string) bool { return strings.ContainsRune(v, 0) || !utf8.ValidString(v) }
		if bad(r.URL.Path) {
			writeError(w, http.StatusBadRequest, "the path holds NUL or invalid UTF-8: ids and names must be valid UTF-8 without NUL")
			return
		}
		for k, vs := range r.URL.Query() {
			for _, v := range vs {
				if bad(k) || bad(v) {
					writeError(w, http.StatusBadRequest, "query parameter "+strconv.Quote(k)+" holds NUL or invalid UTF-8")
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

type server struct {
	c  *client.Client
	ev Events
}

func body(w http.ResponseWriter, r *http.Request) (json.RawMessage, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request body: "+err.Error())
		return nil, false
	}
	if len(b) == 0 {
		b = []byte("null")
	}
	if !json.Valid(b) {
		writeError(w, http.StatusBadRequest, "request body is not valid JSON")
		return nil, false
	}
	return b, true
}

func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	in, ok := body(w, r)
	if !ok {
		return
	}
	wf, method := r.PathValue("workflow"), r.PathValue("method")
	var opts []client.DispatchOption
	if id := r.URL.Query().Get("id"); id != "" {
		opts = append(opts, client.WithID(id))
	}
	if r.URL.Query().Get("wait") == "" {
		ex, err := s.c.DispatchJSON(r.Context(), wf, method, in, opts...)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"workflowId": ex.WorkflowID})
		return
	}
	if t := r.URL.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "timeout "+strconv.Quote(t)+" is not a positive duration (e.g. 30s)")
			return
		}
		opts = append(opts, client.WithTimeout(d))
	}
	out, err := s.c.RunJSON(r.Context(), wf, method, in, opts...)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]json.RawMessage{"result": out})
}

func (s *server) describe(w http.ResponseWriter, r *http.Request) {
	st, err := s.c.Describe(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(st)
}

func (s *server) result(w http.ResponseWriter, r *http.Request) {
	res, err := s.c.ReadResult(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *server) signal(w http.ResponseWriter, r *http.Request) {
	in, ok := body(w, r)
	if !ok {
		return
	}
	err := s.c.SignalJSON(r.Context(), r.PathValue("workflow"), r.PathValue("id"), r.PathValue("channel"), r.URL.Query().Get("type"), in)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

func (s *server) action(w http.ResponseWriter, r *http.Request) {
	wf, id := r.PathValue("workflow"), r.PathValue("id")
	var err error
	switch r.PathValue("action") {
	case "cancel":
		err = s.c.Cancel(r.Context(), wf, id, r.URL.Query().Get("methodRunId"))
	case "retry-workflow-task":
		err = s.c.RetryWorkflowTask(r.Context(), wf, id)
	case "retry-tasks":
		err = s.c.RetryTasks(r.Context(), wf, id, client.TaskFilter{TaskID: r.URL.Query().Get("taskId"), Service: r.URL.Query().Get("service")})
	case "complete-timers":
		err = s.c.CompleteTimers(r.Context(), wf, id, r.URL.Query().Get("methodRunId"))
	default:
		writeError(w, http.StatusNotFound, "unknown action "+r.PathValue("action"))
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

func writeErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ce *core.Error
	if errors.As(err, &ce) {
		switch ce.Code {
		case core.CodeBadInput:
			status = http.StatusBadRequest
		case core.CodeWorkflowUnknown:
			status = http.StatusNotFound
		case core.CodeWorkflowTimedOut:
			status = http.StatusGatewayTimeout
		case core.CodeNoConsumer:
			status = http.StatusServiceUnavailable
		case "not_ended":
			status = http.StatusConflict
		default:
			status = http.StatusUnprocessableEntity
		}
		writeJSON(w, status, map[string]any{"error": ce})
		return
	}
	writeError(w, status, err.Error())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
