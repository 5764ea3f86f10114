package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/test/utils"
	"github.com/cxops/cx-operator/test/utils/fakeprom"
)

// budgetOf returns the objective's budget figures as the API server has them.
func budgetOf(obj *cxv1alpha1.CXObjective) *cxv1alpha1.BudgetStatus {
	got := &cxv1alpha1.CXObjective{}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		return nil
	}
	return got.Status.Budget
}

func budgetKnown(obj *cxv1alpha1.CXObjective) *metav1.Condition {
	return condition(obj, cxv1alpha1.ConditionBudgetKnown)
}

var _ = Describe("The budget reader", func() {
	It("writes the figures from Prometheus into status, and keeps them when Prometheus is down", func() {
		ns := newNamespace()
		team := newTeam(ns, "checkout")
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		prom.Set(ns, fakeprom.Behaviour{Series: fakeprom.ObjectiveSeries(ns, "checkout-errors", "30d", 0.99962, 0.62,
			map[string]float64{"1h": 2.04, "5m": 0.5}, "ticket")})

		Eventually(func() *metav1.Condition { return budgetKnown(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonBudgetRead))
		b := budgetOf(obj)
		Expect(b).NotTo(BeNil())
		Expect(b.SLI).To(Equal("99.96%"))
		Expect(b.Remaining).To(Equal("62.0%"))
		Expect(b.BurnRate1h).To(Equal("2.0x"))
		Expect(b.Firing).To(Equal([]string{"ticket"}))
		Expect(b.ReadAt).NotTo(BeNil())
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		Consistently(func() *metav1.Condition { return budgetKnown(obj) }, 2*budgetPeriod, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonBudgetRead), "each writer keeps the other's conditions")

		Eventually(func() *cxv1alpha1.CXTeamStatus {
			got := &cxv1alpha1.CXTeam{}
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(team), got)).To(Succeed())
			return &got.Status
		}, timeout, interval).Should(And(
			HaveField("Breaching", HaveValue(Equal(int32(1)))),
			HaveField("LowestBudgetRemaining", "62.0%"),
			HaveField("Objectives", int32(1)),
		))

		prom.Set(ns, fakeprom.Behaviour{Down: true})
		Eventually(func() *metav1.Condition { return budgetKnown(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonPrometheusUnreachable))
		Expect(budgetOf(obj)).To(Equal(b), "the last figures stay, with their timestamp")

		prom.Set(ns, fakeprom.Behaviour{Series: fakeprom.ObjectiveSeries(ns, "checkout-errors", "30d", 0.99962, 0.61,
			map[string]float64{"1h": 2.04}, "ticket")})
		Eventually(func() *metav1.Condition { return budgetKnown(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonBudgetRead))
		Eventually(func() string { return budgetOf(obj).Remaining }, timeout, interval).Should(Equal("61.0%"))
	})

	It("says why when Prometheus answers garbage or has no series, and does not crash", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())

		prom.Set(ns, fakeprom.Behaviour{Malformed: true})
		Eventually(func() *metav1.Condition { return budgetKnown(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonMalformedResponse))
		prom.Set(ns, fakeprom.Behaviour{Matrix: true})
		Eventually(func() *metav1.Condition { return budgetKnown(obj) }, timeout, interval).
			Should(And(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonMalformedResponse), HaveField("Message", ContainSubstring("matrix"))))
		prom.Set(ns, fakeprom.Behaviour{})
		Eventually(func() *metav1.Condition { return budgetKnown(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonNoData))
		Expect(budgetOf(obj)).To(BeNil())
		Expect(readyCondition(obj)).To(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded),
			"reconciling rules goes on unaffected")
	})

	It("writes status only when a figure changes at the precision shown", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		prom.Set(ns, fakeprom.Behaviour{Series: fakeprom.ObjectiveSeries(ns, "checkout-errors", "30d", 0.99962, 0.62, nil)})
		Eventually(func() *metav1.Condition { return budgetKnown(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonBudgetRead))
		version := func() string {
			got := &cxv1alpha1.CXObjective{}
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
			return got.ResourceVersion
		}
		Eventually(func() string { return budgetOf(obj).Remaining }, timeout, interval).Should(Equal("62.0%"))
		v := version()
		// 62.0% to 62.04%: the same at one decimal.
		prom.Set(ns, fakeprom.Behaviour{Series: fakeprom.ObjectiveSeries(ns, "checkout-errors", "30d", 0.999621, 0.6204, nil)})
		Consistently(version, 3*budgetPeriod, interval).Should(Equal(v))
	})

	It("reports the same figures as a real Prometheus computes from the generated rules", func() {
		binary := filepath.Join(utils.RepoRoot(), "bin", "prometheus")
		_, err := os.Stat(binary)
		Expect(err).NotTo(HaveOccurred(), "the real Prometheus is built by `make stack`, which `make test` runs")

		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		rule := ruleOf(obj)
		ruleFile, err := rules.RuleFile(rule.Spec)
		Expect(err).NotTo(HaveOccurred())

		exporter := startExporter()
		DeferCleanup(exporter.Close)
		promURL := startPrometheus(binary, ruleFile, strings.TrimPrefix(exporter.URL, "http://"))
		prom.Set(ns, fakeprom.Behaviour{Proxy: promURL})

		realAPI := realPrometheus(promURL)
		query := func(q string) (float64, bool) {
			v, _, _, err := realAPI.Query(ctx, q, time.Now())
			if err != nil {
				return 0, false
			}
			vec, ok := v.(model.Vector)
			if !ok || len(vec) != 1 {
				return 0, false
			}
			return float64(vec[0].Value), true
		}
		sel := fmt.Sprintf(`{cx_objective="checkout-errors",cx_objective_namespace=%q}`, ns)
		Eventually(func() bool { _, ok := query("cx:error_budget_remaining" + sel); return ok }, 60*time.Second, 500*time.Millisecond).
			Should(BeTrue(), "Prometheus records the objective's budget from the generated rules")
		Eventually(func(g Gomega) {
			b := budgetOf(obj)
			g.Expect(b).NotTo(BeNil())
			sli, ok := query(`cx:sli` + sel)
			g.Expect(ok).To(BeTrue())
			remaining, ok := query(`cx:error_budget_remaining` + sel)
			g.Expect(ok).To(BeTrue())
			g.Expect(b.SLI).To(Equal(strconv.FormatFloat(sli*100, 'f', 2, 64) + "%"))
			g.Expect(b.Remaining).To(Equal(strconv.FormatFloat(remaining*100, 'f', 1, 64) + "%"))
			GinkgoWriter.Printf("status: SLI %s, budget left %s, burn 1h %s; Prometheus: cx:sli %v, cx:error_budget_remaining %v\n",
				b.SLI, b.Remaining, b.BurnRate1h, sli, remaining)
		}, 60*time.Second, 500*time.Millisecond).Should(Succeed())
	})
})

// startExporter serves http_requests_total of the checkout job: 100
// requests a second, 2% of them 5xx, counted from the start.
func startExporter() *httptest.Server {
	start := time.Now()
	var scrapes atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		scrapes.Add(1)
		n := time.Since(start).Seconds() * 100
		_, _ = fmt.Fprintf(w, "# TYPE http_requests_total counter\n"+
			"http_requests_total{job=\"checkout\",code=\"200\"} %d\n"+
			"http_requests_total{job=\"checkout\",code=\"500\"} %d\n", int64(n*0.98), int64(n*0.02))
	}))
}

// startPrometheus runs the real Prometheus on loopback with the rule file,
// scraping and evaluating every second, and returns its URL.
func startPrometheus(binary string, ruleFile []byte, target string) string {
	dir := GinkgoT().TempDir()
	Expect(os.WriteFile(filepath.Join(dir, "rules.yaml"), ruleFile, 0o600)).To(Succeed())
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yaml]
scrape_configs:
- job_name: shop
  honor_labels: true
  static_configs:
  - targets: [%q]
`, target)
	Expect(os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600)).To(Succeed())
	addr, err := utils.FreeAddress()
	Expect(err).NotTo(HaveOccurred())
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	Expect(err).NotTo(HaveOccurred())
	pctx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(pctx, binary, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = log, log
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() {
		stop()
		_ = cmd.Wait()
		_ = log.Close()
		if CurrentSpecReport().Failed() {
			out, _ := os.ReadFile(log.Name())
			GinkgoWriter.Printf("prometheus log:\n%s\n", out)
		}
	})
	url := "http://" + addr
	Eventually(func() error {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	return url
}

func realPrometheus(url string) promv1.API {
	c, err := api.NewClient(api.Config{Address: url})
	Expect(err).NotTo(HaveOccurred())
	return promv1.NewAPI(c)
}
