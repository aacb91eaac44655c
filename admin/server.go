package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Degraded wraps a readiness problem that leaves the process able to serve
// (e.g. Redis down while cached routes and local registrations carry on):
// /readyz answers 200 with "degraded: …" instead of 503, so a store outage
// does not take every instance out of the load balancer at once.
type Degraded struct{ Err error }

func (d Degraded) Error() string { return "degraded: " + d.Err.Error() }
func (d Degraded) Unwrap() error { return d.Err }

// ReadyFunc reports why the process cannot take traffic, or nil when it can.
type ReadyFunc func(ctx context.Context) error

// Server is the HTTP listener for ops endpoints and, when configured, the
// admin API.
type Server struct {
	log *slog.Logger
	ln  net.Listener
	srv *http.Server
}

// Option configures a Server.
type Option func(mux *http.ServeMux)

// WithAPI mounts the admin API under APIPrefix. Without it the admin API is
// disabled and only the ops endpoints answer.
func WithAPI(api *API) Option {
	return func(mux *http.ServeMux) { mux.Handle(APIPrefix+"/", api) }
}

// WithHandler mounts h at pattern (a ServeMux pattern such as
// "/console/"): the web console rides on the same listener as the API.
func WithHandler(pattern string, h http.Handler) Option {
	return func(mux *http.ServeMux) { mux.Handle(pattern, h) }
}

// New builds the HTTP server. gatherer is what /metrics exposes; ready backs
// /readyz.
func New(gatherer prometheus.Gatherer, ready ReadyFunc, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	for _, opt := range opts {
		opt(mux)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: slogAdapter{log}}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		err := ready(ctx)
		var d Degraded
		if errors.As(err, &d) {
			// Still routing (from cache, registrations kept locally): stay
			// in the load balancer, but say so for ops.
			fmt.Fprintf(w, "degraded: %v\n", d.Err)
			return
		}
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return &Server{
		log: log,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
	}
}

// Listen binds the address so a taken port fails start-up early.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx ends, then shuts down within timeout.
func (s *Server) Serve(ctx context.Context, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		s.srv.Close()
	}
	<-errc
	return nil
}

type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Println(v ...any) { a.log.Error("metrics handler", "error", fmt.Sprint(v...)) }
