// Package metricsauth guards the manager's metrics endpoint: a request is
// served only if it carries a bearer token that the API server accepts (a
// TokenReview) for a user whom the API server allows to get the path (a
// SubjectAccessReview for the non-resource URL), as the filter that the
// kubebuilder scaffold takes from controller-runtime does.
//
// That filter builds on k8s.io/apiserver's delegating authenticator and
// authorizer, which link some 230 packages (gRPC, CEL, the egress selector)
// into the manager: 9.3 MiB more of the binary, all of it resident on the
// kernels we measured, for two API calls. This package makes the same two
// calls with client-go's typed clients and caches their answers for as long
// as that filter does (allowed for a minute, refused for 30 seconds).
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

const (
	// allowTTL is how long a request that was allowed is remembered.
	allowTTL = time.Minute
	// refuseTTL is how long a request that was refused is remembered.
	refuseTTL = 30 * time.Second
	// reviewTimeout bounds each review request to the API server.
	reviewTimeout = 10 * time.Second
	// maxCached bounds the remembered decisions; the cache starts afresh
	// when it is full of unexpired ones.
	maxCached = 4096
)

// Provider is a metricsserver.FilterProvider: the filter reviews tokens and
// access with the manager's own credentials, which need create on
// tokenreviews and subjectaccessreviews (config/rbac/metrics_auth_role.yaml).
func Provider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	g, err := newGuard(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return g.filter, nil
}

// newGuard makes the clients of the two reviews.
func newGuard(cfg *rest.Config, httpClient *http.Client) (*guard, error) {
	authn, err := authenticationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("creating the TokenReview client: %w", err)
	}
	authz, err := authorizationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("creating the SubjectAccessReview client: %w", err)
	}
	return &guard{
		tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(),
		now: time.Now, seen: map[[sha256.Size]byte]decision{},
	}, nil
}

// guard decides who may read the metrics.
type guard struct {
	tokens authenticationclient.TokenReviewInterface
	access authorizationclient.SubjectAccessReviewInterface
	now    func() time.Time

	mu   sync.Mutex
	seen map[[sha256.Size]byte]decision
}

// decision is the HTTP status a request gets (http.StatusOK: served), and
// until when it holds.
type decision struct {
	status  int
	message string
	until   time.Time
}

// filter wraps the metrics handler.
func (g *guard) filter(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := g.decide(r)
		if err != nil {
			log.Error(err, "Could not check a metrics request", "path", r.URL.Path)
			http.Error(w, "Checking the request failed", http.StatusInternalServerError)
			return
		}
		if d.status != http.StatusOK {
			log.V(1).Info("Refused a metrics request", "path", r.URL.Path, "reason", d.message)
			http.Error(w, d.message, d.status)
			return
		}
		next.ServeHTTP(w, r)
	}), nil
}

// decide answers from the cache or asks the API server. Errors talking to
// the API server are not remembered: the next scrape asks again.
func (g *guard) decide(r *http.Request) (decision, error) {
	token, ok := bearerToken(r)
	if !ok {
		return decision{status: http.StatusUnauthorized, message: "Unauthorized"}, nil
	}
	verb := strings.ToLower(r.Method)
	key := sha256.Sum256([]byte(verb + "\x00" + r.URL.Path + "\x00" + token))
	now := g.now()
	g.mu.Lock()
	d, found := g.seen[key]
	g.mu.Unlock()
	if found && now.Before(d.until) {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), reviewTimeout)
	defer cancel()
	d, err := g.review(ctx, token, verb, r.URL.Path)
	if err != nil {
		return decision{}, err
	}
	d.until = now.Add(refuseTTL)
	if d.status == http.StatusOK {
		d.until = now.Add(allowTTL)
	}
	g.remember(key, d, now)
	return d, nil
}

// review asks the API server who the token belongs to, then whether that
// user may use the verb on the path.
func (g *guard) review(ctx context.Context, token, verb, path string) (decision, error) {
	tr, err := g.tokens.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("reviewing the bearer token: %w", err)
	}
	if !tr.Status.Authenticated {
		return decision{status: http.StatusUnauthorized, message: "Unauthorized"}, nil
	}
	user := tr.Status.User
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := g.access.Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("reviewing access of %s to %s: %w", user.Username, path, err)
	}
	if !sar.Status.Allowed || sar.Status.Denied {
		return decision{status: http.StatusForbidden, message: "Forbidden: " + user.Username + " may not " + verb + " " + path}, nil
	}
	return decision{status: http.StatusOK}, nil
}

// remember caches a decision; when the cache is full, expired decisions go
// first, and all of them if none has expired.
func (g *guard) remember(key [sha256.Size]byte, d decision, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.seen) >= maxCached {
		for k, old := range g.seen {
			if !now.Before(old.until) {
				delete(g.seen, k)
			}
		}
		if len(g.seen) >= maxCached {
			clear(g.seen)
		}
	}
	g.seen[key] = d
}

// bearerToken is the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
