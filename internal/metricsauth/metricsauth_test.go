package metricsauth

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/cxops/cx-operator/test/utils"
)

// The filter runs against the real kube-apiserver of `make envtest`, as a
// user bound only to config/rbac/metrics_auth_role.yaml; the scrapers are
// service accounts with real tokens, one of them bound to
// config/rbac/metrics_reader_role.yaml.
var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	// managerConfig is the manager's identity: the metrics auth role only.
	managerConfig *rest.Config
	// readerToken may get /metrics; strangerToken is a valid token of a
	// service account with no role.
	readerToken, strangerToken string
	// readerRole is config/rbac/metrics_reader_role.yaml, bound to
	// readerToken's service account.
	readerRole *rbacv1.ClusterRole
)

func TestMetricsAuth(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Metrics auth suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	testEnv, err = utils.NewEnvironment()
	Expect(err).NotTo(HaveOccurred())
	admin, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(testEnv.Stop)
	k8sClient, err = client.New(admin, client.Options{Scheme: utils.Scheme()})
	Expect(err).NotTo(HaveOccurred())

	authRole := clusterRole("metrics_auth_role.yaml")
	bind(ctx, authRole, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "cx-operator-manager"})
	user, err := testEnv.AddUser(envtest.User{Name: "cx-operator-manager"}, nil)
	Expect(err).NotTo(HaveOccurred())
	managerConfig = user.Config()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	readerToken = serviceAccountToken(ctx, "prometheus")
	strangerToken = serviceAccountToken(ctx, "stranger")
	readerRole = clusterRole("metrics_reader_role.yaml")
	bind(ctx, readerRole,
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "prometheus"})
	// RBAC reads its informer: wait until the API server allows the reader.
	Eventually(func() int {
		now := time.Now()
		return status(newTestGuard(managerConfig, &now), readerToken)
	}).WithTimeout(20 * time.Second).Should(Equal(http.StatusOK))
}, NodeTimeout(2*time.Minute))

// clusterRole creates the ClusterRole of a file in config/rbac.
func clusterRole(file string) *rbacv1.ClusterRole {
	data, err := os.ReadFile(filepath.Join(utils.RepoRoot(), "config", "rbac", file))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(data, role)).To(Succeed())
	Expect(k8sClient.Create(context.Background(), role)).To(Succeed())
	return role
}

// bind binds a ClusterRole to a subject.
func bind(ctx context.Context, role *rbacv1.ClusterRole, subject rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name + "-" + subject.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{subject},
	}
	Expect(k8sClient.Create(ctx, b)).To(Succeed())
	return b
}

// serviceAccountToken creates a service account in monitoring and returns
// a token of it from the TokenRequest API.
func serviceAccountToken(ctx context.Context, name string) string {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: name}}
	Expect(k8sClient.Create(ctx, sa)).To(Succeed())
	req := &authenticationv1.TokenRequest{}
	Expect(k8sClient.SubResource("token").Create(ctx, sa, req)).To(Succeed())
	Expect(req.Status.Token).NotTo(BeEmpty())
	return req.Status.Token
}

// scrape sends one request through a guard's filter to a handler that
// answers "metrics", and returns the status code and body.
func scrape(g *guard, method, path, authorization string) (int, string) {
	h, err := g.filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "metrics")
	}))
	Expect(err).NotTo(HaveOccurred())
	req := httptest.NewRequest(method, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// status is the status code of a GET of /metrics with a bearer token.
func status(g *guard, token string) int {
	code, _ := scrape(g, http.MethodGet, "/metrics", "Bearer "+token)
	return code
}

// newTestGuard is a guard with the manager's identity and a clock the test
// moves.
func newTestGuard(cfg *rest.Config, now *time.Time) *guard {
	httpClient, err := rest.HTTPClientFor(cfg)
	Expect(err).NotTo(HaveOccurred())
	g, err := newGuard(cfg, httpClient)
	Expect(err).NotTo(HaveOccurred())
	g.now = func() time.Time { return *now }
	return g
}

var _ = Describe("The metrics endpoint", func() {
	DescribeTable("answers a scrape by who sends it",
		func(method, path string, authorization func() string, wantCode int, wantBody string) {
			now := time.Now()
			code, body := scrape(newTestGuard(managerConfig, &now), method, path, authorization())
			Expect(code).To(Equal(wantCode))
			Expect(body).To(ContainSubstring(wantBody))
		},
		Entry("serves the metrics to a service account bound to the metrics reader role",
			http.MethodGet, "/metrics", func() string { return "Bearer " + readerToken }, http.StatusOK, "metrics"),
		Entry("takes the scheme of the header in any case",
			http.MethodGet, "/metrics", func() string { return "bearer " + readerToken }, http.StatusOK, "metrics"),
		Entry("refuses a request without a token as unauthorized",
			http.MethodGet, "/metrics", func() string { return "" }, http.StatusUnauthorized, "Unauthorized"),
		Entry("refuses basic authentication as unauthorized",
			http.MethodGet, "/metrics", func() string { return "Basic cHJvbWV0aGV1czpzZWNyZXQ=" }, http.StatusUnauthorized, "Unauthorized"),
		Entry("refuses a token the API server does not know as unauthorized",
			http.MethodGet, "/metrics", func() string { return "Bearer not-a-token" }, http.StatusUnauthorized, "Unauthorized"),
		Entry("refuses a valid token of a service account without the role as forbidden, naming it",
			http.MethodGet, "/metrics", func() string { return "Bearer " + strangerToken }, http.StatusForbidden,
			"system:serviceaccount:monitoring:stranger may not get /metrics"),
		Entry("refuses the reader another path",
			http.MethodGet, "/debug/pprof/", func() string { return "Bearer " + readerToken }, http.StatusForbidden, "may not get /debug/pprof/"),
		Entry("refuses the reader another verb",
			http.MethodPost, "/metrics", func() string { return "Bearer " + readerToken }, http.StatusForbidden, "may not post /metrics"),
	)

	It("fails closed, without the token in its answer, when the manager may not review tokens", func() {
		user, err := testEnv.AddUser(envtest.User{Name: "no-reviews"}, nil)
		Expect(err).NotTo(HaveOccurred())
		now := time.Now()
		code, body := scrape(newTestGuard(user.Config(), &now), http.MethodGet, "/metrics", "Bearer "+readerToken)
		Expect(code).To(Equal(http.StatusInternalServerError))
		Expect(body).NotTo(ContainSubstring(readerToken))
	})

	It("remembers an allowed scrape for a minute, then asks the API server again", func(ctx SpecContext) {
		token := serviceAccountToken(ctx, "leaver")
		b := bind(ctx, readerRole, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "leaver"})
		now := time.Now()
		g := newTestGuard(managerConfig, &now)
		// RBAC reads its informer: wait until the API server itself allows.
		Eventually(func() int { return status(g, token) }).WithTimeout(20 * time.Second).Should(Equal(http.StatusOK))
		g = newTestGuard(managerConfig, &now)
		Expect(status(g, token)).To(Equal(http.StatusOK))

		Expect(k8sClient.Delete(ctx, b)).To(Succeed())
		expectRemembered(g, token, &now, allowTTL, http.StatusOK, http.StatusForbidden)
	})

	It("remembers a refusal for 30 seconds", func(ctx SpecContext) {
		token := serviceAccountToken(ctx, "latecomer")
		now := time.Now()
		g := newTestGuard(managerConfig, &now)
		Expect(status(g, token)).To(Equal(http.StatusForbidden))

		bind(ctx, readerRole, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "latecomer"})
		expectRemembered(g, token, &now, refuseTTL, http.StatusForbidden, http.StatusOK)
	})
})

// expectRemembered waits until the API server's answer for the token has
// changed from first to later (a fresh guard gets it), then checks that g
// still answers first until ttl after its first answer, and later after.
func expectRemembered(g *guard, token string, now *time.Time, ttl time.Duration, first, later int) {
	GinkgoHelper()
	Eventually(func() int { return status(newTestGuard(managerConfig, now), token) }).
		WithTimeout(20 * time.Second).Should(Equal(later))
	*now = now.Add(ttl - time.Second)
	Expect(status(g, token)).To(Equal(first), "within %s of the first answer", ttl)
	*now = now.Add(2 * time.Second)
	Expect(status(g, token)).To(Equal(later), "after %s", ttl)
}

var _ = Describe("The manager's metrics server with this filter", func() {
	It("serves the reader over HTTPS and refuses a stranger", func(ctx SpecContext) {
		addr, err := utils.FreeAddress()
		Expect(err).NotTo(HaveOccurred())
		httpClient, err := rest.HTTPClientFor(managerConfig)
		Expect(err).NotTo(HaveOccurred())
		srv, err := metricsserver.NewServer(metricsserver.Options{
			BindAddress: addr, SecureServing: true, FilterProvider: Provider,
		}, managerConfig, httpClient)
		Expect(err).NotTo(HaveOccurred())
		srvCtx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		go func() { _ = srv.Start(srvCtx) }()

		// The server's certificate is self-signed, as the scaffold's is
		// without a cert-manager certificate.
		insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		get := func(token string) (int, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
			if err != nil {
				return 0, err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := insecure.Do(req)
			if err != nil {
				return 0, err
			}
			defer func() { _ = resp.Body.Close() }()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "# TYPE") {
				return 0, fmt.Errorf("not metrics: %.200s", body)
			}
			return resp.StatusCode, err
		}
		Eventually(get).WithArguments(readerToken).WithTimeout(20 * time.Second).Should(Equal(http.StatusOK))
		Expect(get(strangerToken)).To(Equal(http.StatusForbidden))
		Expect(get("not-a-token")).To(Equal(http.StatusUnauthorized))
	})
})
