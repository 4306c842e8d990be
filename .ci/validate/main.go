// Command kiada-validate checks Kubernetes manifests offline:
//
//   - every object decodes strictly into its k8s.io/api type (an unknown or
//     misspelt field, a duplicate key or a wrong type is an error) and has a valid
//     name and valid labels;
//   - every pod and pod template passes the Pod Security Standards profile given
//     by -level (default restricted, latest version), evaluated by the upstream
//     k8s.io/pod-security-admission/policy package, the code the API server's
//     admission plugin runs;
//   - with -suite, every pod also follows the Kiada suite's conventions (probes,
//     requests and limits, labels, no service account token, no namespace);
//   - with -cross, every Service's selector matches at least one of the pods given
//     and each named targetPort exists in the pods it selects; every NetworkPolicy's
//     pod selector and each of its peers' pod selectors match at least one pod, and
//     each named port exists in the pods it protects.
//
// Usage: kiada-validate [-level restricted] [-version latest] [-suite] [-cross] FILE...
// ("-" reads standard input). It prints one line per object, the problems found,
// and a closing "N passed, N failed" line; it exits 1 if any object fails.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// object is one decoded manifest document.
type object struct {
	source string // file name and document number
	kind   string
	meta   *metav1.ObjectMeta
	// podMeta and podSpec are set for pods and workloads with a pod template.
	podMeta *metav1.ObjectMeta
	podSpec *corev1.PodSpec
	service *corev1.Service
	policy  *networkingv1.NetworkPolicy
}

func (o *object) String() string { return o.kind + "/" + o.meta.Name }

// newTyped returns an empty object of the type for apiVersion and kind.
func newTyped(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 Pod":
		return &corev1.Pod{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Endpoints":
		return &corev1.Endpoints{}, nil
	case "discovery.k8s.io/v1 EndpointSlice":
		return &discoveryv1.EndpointSlice{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}, nil
	case "apps/v1 ReplicaSet":
		return &appsv1.ReplicaSet{}, nil
	case "batch/v1 Job":
		return &batchv1.Job{}, nil
	case "batch/v1 CronJob":
		return &batchv1.CronJob{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	}
	return nil, fmt.Errorf("unsupported apiVersion %q kind %q (teach kiada-validate about it)", apiVersion, kind)
}

func decode(source string, doc []byte) (*object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %v", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("apiVersion and kind are required")
	}
	typed, err := newTyped(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(doc, typed); err != nil {
		return nil, fmt.Errorf("strict decoding as %s %s: %v", tm.APIVersion, tm.Kind, err)
	}
	// Every kind newTyped knows embeds ObjectMeta.
	o := &object{source: source, kind: tm.Kind,
		meta: typed.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)}
	template := func(tpl *corev1.PodTemplateSpec) { o.podMeta, o.podSpec = &tpl.ObjectMeta, &tpl.Spec }
	switch t := typed.(type) {
	case *corev1.Pod:
		o.podMeta, o.podSpec = &t.ObjectMeta, &t.Spec
	case *corev1.Service:
		o.service = t
	case *networkingv1.NetworkPolicy:
		o.policy = t
	case *appsv1.Deployment:
		template(&t.Spec.Template)
	case *appsv1.StatefulSet:
		template(&t.Spec.Template)
	case *appsv1.DaemonSet:
		template(&t.Spec.Template)
	case *appsv1.ReplicaSet:
		template(&t.Spec.Template)
	case *batchv1.Job:
		template(&t.Spec.Template)
	case *batchv1.CronJob:
		template(&t.Spec.JobTemplate.Spec.Template)
	}
	return o, nil
}

// readDocs splits a YAML stream into documents, skipping empty ones.
func readDocs(name string) ([][]byte, error) {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if isBlank(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

func isBlank(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		l := bytes.TrimSpace(line)
		if len(l) > 0 && l[0] != '#' && !bytes.Equal(l, []byte("---")) {
			return false
		}
	}
	return true
}

// checkMeta validates the name and the labels as the API server would.
func checkMeta(kind string, meta *metav1.ObjectMeta) []string {
	var problems []string
	if meta.Name == "" {
		problems = append(problems, "metadata.name is required")
	} else {
		validName := validation.IsDNS1123Subdomain
		if kind == "Service" || kind == "Namespace" {
			validName = validation.IsDNS1035Label
		}
		for _, msg := range validName(meta.Name) {
			problems = append(problems, fmt.Sprintf("metadata.name %q: %s", meta.Name, msg))
		}
	}
	for k, v := range meta.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("label key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			problems = append(problems, fmt.Sprintf("label %s=%q: %s", k, v, msg))
		}
	}
	return problems
}

// checkPodSecurity runs the upstream Pod Security Standards checks.
func checkPodSecurity(eval policy.Evaluator, lv psaapi.LevelVersion, o *object) []string {
	var problems []string
	for _, r := range eval.EvaluatePod(lv, o.podMeta, o.podSpec) {
		if r.Allowed {
			continue
		}
		msg := fmt.Sprintf("Pod Security %q:%s: %s", lv.Level, lv.Version, r.ForbiddenReason)
		if r.ForbiddenDetail != "" {
			msg += " (" + r.ForbiddenDetail + ")"
		}
		problems = append(problems, msg)
	}
	return problems
}

// The labels every pod carries. The chapter's pods carry exactly these two, so
// `kubectl expose pod quiz` derives the selector app=quiz,rel=stable that the
// chapter prints; only the variants (which no chapter command exposes) may add more.
var suiteLabels = []string{"app", "rel"}

// checkSuite enforces the Kiada suite's own conventions for pods. An unlabelled pod
// (the book's kiada-ssl, which no Service may select: the reader reaches it with
// port forwarding) must carry no labels at all instead of exactly app and rel.
func checkSuite(o *object, unlabelled bool) []string {
	var problems []string
	if o.meta.Namespace != "" {
		problems = append(problems, fmt.Sprintf("metadata.namespace is set (%q): leave it to -n or kustomize", o.meta.Namespace))
	}
	if o.podSpec == nil {
		return problems
	}
	switch {
	case unlabelled:
		for l := range o.podMeta.Labels {
			problems = append(problems, fmt.Sprintf("pod label %s: this pod must carry no labels, so that no Service selects it", l))
		}
	default:
		for _, l := range suiteLabels {
			if o.podMeta.Labels[l] == "" {
				problems = append(problems, fmt.Sprintf("pod label %s is missing", l))
			}
		}
		if !strings.Contains(o.source, "variants/") {
			for l := range o.podMeta.Labels {
				if !slices.Contains(suiteLabels, l) {
					problems = append(problems, fmt.Sprintf("pod label %s: the chapter's pods carry only app and rel (kubectl expose copies every label into the selector)", l))
				}
			}
		}
	}
	spec := o.podSpec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		problems = append(problems, "automountServiceAccountToken must be false")
	}
	if spec.TerminationGracePeriodSeconds == nil {
		problems = append(problems, "terminationGracePeriodSeconds must be set")
	}
	for _, c := range spec.Containers {
		where := fmt.Sprintf("container %q: ", c.Name)
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
		}{{"startupProbe", c.StartupProbe}, {"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}} {
			switch {
			case p.probe == nil:
				problems = append(problems, where+p.name+" is missing")
			case p.probe.HTTPGet != nil && p.probe.HTTPGet.Port.StrVal == "":
				problems = append(problems, where+p.name+" must use a named port")
			}
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				problems = append(problems, fmt.Sprintf("%sresources.requests.%s is missing", where, res))
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				problems = append(problems, fmt.Sprintf("%sresources.limits.%s is missing", where, res))
			}
		}
		for _, port := range c.Ports {
			if port.Name == "" {
				problems = append(problems, fmt.Sprintf("%sport %d has no name", where, port.ContainerPort))
			}
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			problems = append(problems, where+"securityContext.readOnlyRootFilesystem must be true")
		}
		if c.ImagePullPolicy != corev1.PullIfNotPresent {
			problems = append(problems, where+"imagePullPolicy must be IfNotPresent (images are loaded into the node)")
		}
	}
	return problems
}

// podsMatching returns the pods (and pod templates) among objs that sel selects.
func podsMatching(objs []*object, sel labels.Selector) []*object {
	var pods []*object
	for _, p := range objs {
		if p.podSpec != nil && sel.Matches(labels.Set(p.podMeta.Labels)) {
			pods = append(pods, p)
		}
	}
	return pods
}

// checkPolicy relates one NetworkPolicy to the pods given: a selector that picks no pod
// protects nothing or admits nobody, which is never what a suite's policy means.
func checkPolicy(policy *networkingv1.NetworkPolicy, objs []*object) []string {
	var problems []string
	selects := func(what string, ls *metav1.LabelSelector) []*object {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
			return nil
		}
		pods := podsMatching(objs, sel)
		if len(pods) == 0 {
			problems = append(problems, fmt.Sprintf("%s %s matches none of the pods", what, sel))
		}
		return pods
	}
	protected := selects("podSelector", &policy.Spec.PodSelector)
	for i, rule := range policy.Spec.Ingress {
		for j, peer := range rule.From {
			if peer.PodSelector != nil {
				selects(fmt.Sprintf("ingress[%d].from[%d].podSelector", i, j), peer.PodSelector)
			}
		}
		for _, port := range rule.Ports {
			if port.Port == nil || port.Port.StrVal == "" {
				continue
			}
			for _, p := range protected {
				if !hasPortNamed(p.podSpec, port.Port.StrVal) {
					problems = append(problems, fmt.Sprintf("ingress[%d] port %q: pod %s has no container port of that name", i, port.Port.StrVal, p.meta.Name))
				}
			}
		}
	}
	return problems
}

// checkCross relates Services and NetworkPolicies to the pods given in the same run.
func checkCross(objs []*object) map[*object][]string {
	problems := map[*object][]string{}
	for _, o := range objs {
		if o.policy != nil {
			problems[o] = append(problems[o], checkPolicy(o.policy, objs)...)
		}
	}
	for _, svc := range objs {
		if svc.service == nil || len(svc.service.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.service.Spec.Selector)
		pods := podsMatching(objs, sel)
		if len(pods) == 0 {
			problems[svc] = append(problems[svc], fmt.Sprintf("selector %s matches none of the pods", sel))
			continue
		}
		for _, sp := range svc.service.Spec.Ports {
			name := sp.TargetPort.StrVal
			if name == "" {
				continue
			}
			for _, p := range pods {
				if !hasPortNamed(p.podSpec, name) {
					problems[svc] = append(problems[svc], fmt.Sprintf("targetPort %q: pod %s has no container port of that name", name, p.meta.Name))
				}
			}
		}
	}
	return problems
}

func hasPortNamed(spec *corev1.PodSpec, name string) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func main() {
	level := flag.String("level", "restricted", "Pod Security Standards level: privileged, baseline or restricted")
	version := flag.String("version", "latest", "Pod Security Standards version, e.g. v1.32 or latest")
	suite := flag.Bool("suite", false, "also enforce the Kiada suite's pod conventions")
	cross := flag.Bool("cross", false, "check that Service selectors and named target ports match the pods given")
	unlabelled := flag.Bool("unlabelled", false, "with -suite: pods must carry no labels (instead of app and rel)")
	quiet := flag.Bool("q", false, "print only problems and the closing line")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: kiada-validate [flags] FILE... (- for standard input)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	lvl, err := psaapi.ParseLevel(*level)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiada-validate:", err)
		os.Exit(2)
	}
	ver, err := psaapi.ParseVersion(*version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiada-validate:", err)
		os.Exit(2)
	}
	lv := psaapi.LevelVersion{Level: lvl, Version: ver}
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiada-validate:", err)
		os.Exit(2)
	}

	var objs []*object
	problems := map[*object][]string{}
	failedDocs := 0
	for _, file := range flag.Args() {
		docs, err := readDocs(file)
		if err != nil {
			fmt.Printf("FAIL %s: %v\n", file, err)
			failedDocs++
			continue
		}
		if len(docs) == 0 {
			fmt.Printf("FAIL %s: no Kubernetes objects in the file\n", file)
			failedDocs++
			continue
		}
		for i, doc := range docs {
			source := fmt.Sprintf("%s#%d", file, i+1)
			o, err := decode(source, doc)
			if err != nil {
				fmt.Printf("FAIL %s: %v\n", source, err)
				failedDocs++
				continue
			}
			objs = append(objs, o)
			problems[o] = append(problems[o], checkMeta(o.kind, o.meta)...)
			if o.podSpec != nil {
				problems[o] = append(problems[o], checkPodSecurity(eval, lv, o)...)
			}
			if *suite {
				problems[o] = append(problems[o], checkSuite(o, *unlabelled)...)
			}
		}
	}
	if *cross {
		for o, p := range checkCross(objs) {
			problems[o] = append(problems[o], p...)
		}
	}

	passed, failed := 0, failedDocs
	for _, o := range objs {
		p := problems[o]
		if len(p) == 0 {
			passed++
			if !*quiet {
				fmt.Printf("ok   %s: %s\n", o.source, o)
			}
			continue
		}
		failed++
		sort.Strings(p)
		fmt.Printf("FAIL %s: %s\n", o.source, o)
		for _, msg := range p {
			fmt.Printf("       %s\n", strings.TrimSpace(msg))
		}
	}
	fmt.Printf("checked against Pod Security Standards %s:%s\n", lvl, ver)
	fmt.Printf("kiada-validate: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
