package v1alpha1_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/test/utils"
)

// invalidCase is one manifest under testdata/invalid that the API server must
// reject, and a part of the message it must give. The same files are the
// cases of `kubectl cx validate`.
type invalidCase struct {
	file   string
	expect string
}

func invalidCases() []invalidCase {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil {
		panic(err)
	}
	sort.Strings(files)
	cases := make([]invalidCase, 0, len(files))
	for _, f := range files {
		cases = append(cases, invalidCase{file: f, expect: expectation(f)})
	}
	return cases
}

// expectation reads the "# expect: ..." first line of a test manifest.
func expectation(file string) string {
	f, err := os.Open(file)
	if err != nil {
		panic(err)
	}
	defer func() { _ = f.Close() }()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "# expect: ") {
		panic(file + ": the first line must be `# expect: <part of the API server's message>`")
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "# expect: "))
}

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "api-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

var _ = Describe("The CXObjective and CXTeam APIs", func() {
	It("accept every sample in config/samples", func() {
		ns := newNamespace()
		docs, err := utils.ReadManifests(filepath.Join(utils.RepoRoot(), "config", "samples"))
		Expect(err).NotTo(HaveOccurred())
		kinds := map[string]int{}
		for _, d := range docs {
			obj := d.Object.DeepCopy()
			obj.SetNamespace(ns)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "%s document %d", d.File, d.Index)
			kinds[obj.GetKind()]++
		}
		Expect(kinds).To(HaveKeyWithValue("CXTeam", 5))
		Expect(kinds).To(HaveKeyWithValue("CXObjective", 6))
	})

	It("fills the documented defaults", func() {
		ns := newNamespace()
		obj := &cxv1alpha1.CXObjective{
			ObjectMeta: metav1.ObjectMeta{Name: "api-latency", Namespace: ns},
			Spec: cxv1alpha1.CXObjectiveSpec{
				Journey: "api",
				Owner:   cxv1alpha1.TeamRef{Team: "platform"},
				SLI: cxv1alpha1.SLI{Latency: &cxv1alpha1.LatencySLI{
					Metric: `http_request_duration_seconds{job="api"}`, Threshold: "300ms",
				}},
				Target: "99",
			},
		}
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		got := &cxv1alpha1.CXObjective{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		Expect(got.Spec.Window).To(Equal(cxv1alpha1.Duration("30d")))
		Expect(got.Spec.SLI.Latency.Histogram).To(Equal(cxv1alpha1.HistogramClassic))
	})

	cases := invalidCases()
	It("has at least 15 invalid cases", func() {
		Expect(len(cases)).To(BeNumerically(">=", 15))
	})

	entries := make([]TableEntry, 0, len(cases))
	for _, c := range cases {
		entries = append(entries, Entry(strings.TrimSuffix(filepath.Base(c.file), ".yaml"), c))
	}
	DescribeTable("reject an invalid object with a message a person understands",
		func(c invalidCase) {
			ns := newNamespace()
			docs, err := utils.ReadManifestFile(c.file)
			Expect(err).NotTo(HaveOccurred())
			Expect(docs).To(HaveLen(1))
			obj := docs[0].Object
			obj.SetNamespace(ns)
			err = k8sClient.Create(ctx, obj)
			Expect(err).To(HaveOccurred(), "the API server accepted %s", c.file)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid error: %v", err)
			Expect(err.Error()).To(ContainSubstring(c.expect))
		},
		entries,
	)

	It("documents the API for kubectl explain", func() {
		user, err := testEnv.AddUser(envtest.User{Name: "explainer", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		kubeconfig, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())

		kubectl := filepath.Join(testEnv.BinaryAssetsDirectory, "kubectl")
		out, err := exec.Command(kubectl, "--kubeconfig", path, "explain", "cxobjective.spec.sli").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("sli is how good and bad customer experience is measured"))
		Expect(string(out)).To(ContainSubstring("errorRatio"))
		Expect(string(out)).To(ContainSubstring("histogram"))

		out, err = exec.Command(kubectl, "--kubeconfig", path, "explain", "cxteam.spec.hours").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("UTC"))
	})
})
