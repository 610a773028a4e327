// validate: deploy/kubernetes as `kubectl kustomize` builds it (namespace, patches, ConfigMap), checked offline
// against the Kubernetes and Prometheus Operator schemas and against each other.
//   node validate.js SOURCE_ROOT NPM_DIR     (NPM_DIR: where `npm ci` installed package-lock.json's packages)
// Prints one line per check; exits 1 when any fails.
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const [root, npmDir] = process.argv.slice(2);
if (!root || !npmDir) {
  console.error("usage: node validate.js SOURCE_ROOT NPM_DIR");
  process.exit(2);
}
const need = createRequire(path.join(path.resolve(npmDir), "package.json"));
const YAML = need("yaml");
const isDeepStrictEqual = require("util").isDeepStrictEqual;

const dir = path.join(root, "deploy", "kubernetes");
const PORT = 9753;
const HEALTHY = "/-/healthy";

// The models, by apiVersion and kind: validate() throws with the schema's complaint.
const MODELS = {
  "v1/Namespace": () => need("kubernetes-models/v1/Namespace").Namespace,
  "v1/ServiceAccount": () => need("kubernetes-models/v1/ServiceAccount").ServiceAccount,
  "v1/Service": () => need("kubernetes-models/v1/Service").Service,
  "v1/ConfigMap": () => need("kubernetes-models/v1/ConfigMap").ConfigMap,
  "apps/v1/Deployment": () => need("kubernetes-models/apps/v1/Deployment").Deployment,
  "networking.k8s.io/v1/NetworkPolicy": () =>
    need("kubernetes-models/networking.k8s.io/v1/NetworkPolicy").NetworkPolicy,
  "monitoring.coreos.com/v1/ServiceMonitor": () =>
    need("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor").ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": () =>
    need("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule").PrometheusRule,
};

let failures = 0;
function check(cond, what, detail) {
  if (cond) {
    console.log("ok: " + what);
  } else {
    failures++;
    console.log("FAIL: " + what + (detail === undefined ? "" : "\n      " + JSON.stringify(detail)));
  }
  return cond;
}

function readYaml(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  for (const d of docs) {
    if (d.errors.length) throw new Error(file + ": " + d.errors.map(String).join("; "));
  }
  return docs.map((d) => d.toJS()).filter((o) => o !== null);
}

function validate(obj, where) {
  const key = obj.apiVersion + "/" + obj.kind;
  const model = MODELS[key];
  if (!check(model, where + ": " + key + " is a kind this test knows", key)) return;
  try {
    new (model())(obj).validate();
    check(true, where + ": " + key + " " + (obj.metadata && obj.metadata.name) + " is valid against its schema");
  } catch (e) {
    check(false, where + ": " + key + " is valid against its schema", String(e.message || e).slice(0, 2000));
  }
}

// ---- the kustomization lists every file, and every file it lists exists ----
const kust = readYaml(path.join(dir, "kustomization.yaml"))[0];
const resources = kust.resources || [];
const generated = (kust.configMapGenerator || []).flatMap((g) => g.files || []);
const patches = kust.patches || [];
const listed = new Set([...resources, ...generated, ...patches.map((p) => p.path)]);
const present = fs.readdirSync(dir).filter((f) => f !== "kustomization.yaml");
for (const f of present) check(listed.has(f), "kustomization.yaml lists " + f);
for (const f of listed) check(fs.existsSync(path.join(dir, f)), "kustomization.yaml's " + f + " exists");

// ---- the objects as kustomize builds them: resources, the generated ConfigMap, the namespace, the patches ----
const objects = [];
for (const f of resources) {
  for (const obj of readYaml(path.join(dir, f))) {
    check(!(obj.metadata && obj.metadata.namespace), f + ": " + obj.kind + " names no namespace (the kustomization does)");
    objects.push(obj);
  }
}
for (const g of kust.configMapGenerator || []) {
  const data = {};
  for (const f of g.files) data[path.basename(f)] = fs.readFileSync(path.join(dir, f), "utf8");
  objects.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: g.name, labels: (g.options || {}).labels }, data });
}
// One namespace, created by the kustomization itself, holding everything else.
const ns = kust.namespace;
check(typeof ns === "string" && ns.length > 0, "kustomization.yaml sets the namespace", ns);
const namespaces = objects.filter((o) => o.kind === "Namespace");
check(namespaces.length === 1 && namespaces[0].metadata.name === ns, "a Namespace object creates " + ns,
  namespaces.map((o) => o.metadata.name));
for (const o of objects) if (o.kind !== "Namespace") o.metadata.namespace = ns;
// patches: JSON 6902 operations on the objects their target selects (group, kind), as kustomize applies them.
const groupOf = (o) => (o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "");
function applyOp(obj, op, where) {
  const keys = op.path.split("/").slice(1).map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
  let at = obj;
  for (const k of keys.slice(0, -1)) at = at && typeof at === "object" ? at[k] : undefined;
  const last = keys[keys.length - 1];
  if (!check(at && typeof at === "object" && (op.op === "add" || (op.op === "replace" && last in at)),
    where + ": " + op.op + " " + op.path + " applies", op)) return;
  at[last] = op.value;
}
for (const p of patches) {
  const ops = readYaml(path.join(dir, p.path))[0];
  const t = p.target || {};
  const hit = objects.filter((o) => (!t.group || groupOf(o) === t.group) && (!t.kind || o.kind === t.kind) &&
    (!t.name || o.metadata.name === t.name));
  check(Array.isArray(ops) && hit.length === 1, "patch " + p.path + " selects one " + t.kind, hit.length);
  for (const o of hit) for (const op of ops || []) applyOp(o, op, "patch " + p.path + " on " + o.kind);
}
for (const o of objects) validate(o, o.kind + " " + o.metadata.name);

const one = (kind) => {
  const found = objects.filter((o) => o.kind === kind);
  check(found.length === 1, "exactly one " + kind, found.length);
  return found[0] || {};
};

// ---- the Deployment: one pod, never two; hardened; probes on the exporter's port and path ----
const dep = one("Deployment");
const spec = dep.spec || {};
check(spec.replicas === 1, "the Deployment runs one replica", spec.replicas);
check(spec.strategy && spec.strategy.type === "Recreate", "the Deployment's strategy is Recreate", spec.strategy);
const pod = (spec.template || {}).spec || {};
const podLabels = ((spec.template || {}).metadata || {}).labels || {};
const matches = (selector, labels) =>
  Object.keys(selector || {}).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
check(matches(spec.selector.matchLabels, podLabels), "the Deployment's selector matches its pod labels");
const psc = pod.securityContext || {};
check(psc.runAsNonRoot === true, "pod: runAsNonRoot");
check(Number.isInteger(psc.runAsUser) && psc.runAsUser > 0, "pod: numeric non-root runAsUser", psc.runAsUser);
check(psc.seccompProfile && psc.seccompProfile.type === "RuntimeDefault", "pod: seccomp RuntimeDefault");
check(pod.containers.length === 1, "one container");
const c = pod.containers[0] || {};
const sc = c.securityContext || {};
check(sc.readOnlyRootFilesystem === true, "container: readOnlyRootFilesystem");
check(sc.allowPrivilegeEscalation === false, "container: allowPrivilegeEscalation false");
check(isDeepStrictEqual((sc.capabilities || {}).drop, ["ALL"]), "container: drops ALL capabilities", sc.capabilities);
check(!(sc.capabilities || {}).add, "container: adds no capability");
check(sc.runAsNonRoot === true && sc.runAsUser === psc.runAsUser, "container: same non-root user as the pod");
check(sc.seccompProfile && sc.seccompProfile.type === "RuntimeDefault", "container: seccomp RuntimeDefault");
const args = c.args || [];
// One place sets the address: the configuration's web.listen. A --listen would win over it without a word.
check(!args.some((a) => a.startsWith("--listen")), "the container passes no --listen (web.listen is the one place)", args);
const port = (c.ports || []).find((p) => p.name === "metrics");
check(port && port.containerPort === PORT, "the container port named metrics is " + PORT, c.ports);
const portOf = (p) => (typeof p === "string" ? ((c.ports || []).find((x) => x.name === p) || {}).containerPort : p);
for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
  const get = (c[probe] || {}).httpGet || {};
  check(get.path === HEALTHY, probe + " asks " + HEALTHY + " (not /-/ready: see the comment)", get.path);
  check(portOf(get.port) === PORT, probe + " asks port " + PORT, get.port);
}
const res = c.resources || {};
check(res.requests && res.requests.memory && res.limits && res.limits.memory, "memory request and limit are set", res);
const config = args[args.indexOf("--config") + 1] || "";
const cfgGen = (kust.configMapGenerator || [])[0] || {};
const vol = (pod.volumes || []).find((v) => v.configMap && v.configMap.name === cfgGen.name);
check(vol, "a volume mounts the configMapGenerator's ConfigMap " + cfgGen.name);
const mount = vol && (c.volumeMounts || []).find((m) => m.name === vol.name);
check(mount && mount.readOnly === true && path.posix.join(mount.mountPath, path.basename(cfgGen.files[0])) === config,
  "--config " + config + " is the ConfigMap's file, mounted read-only", mount);
const confText = cfgGen.files ? fs.readFileSync(path.join(dir, cfgGen.files[0]), "utf8") : "";
const listenLine = confText.split("\n").find((l) => /^\s*listen\s*=/.test(l)) || "";
const listen = (listenLine.match(/^\s*listen\s*=\s*"([^"]*)"\s*;/) || [])[1] || "";
check(listen === "0.0.0.0:" + PORT || listen === "[::]:" + PORT || listen === ":" + PORT,
  "the configuration's web.listen is every address of the pod on the container port " + PORT, listenLine);
const sa = one("ServiceAccount");
check(pod.serviceAccountName === sa.metadata.name, "the pod runs as the ServiceAccount " + sa.metadata.name);

// ---- the Service and the ServiceMonitor select each other ----
const svc = one("Service");
check(matches(svc.spec.selector, podLabels), "the Service selects the Deployment's pods");
const svcPort = (svc.spec.ports || []).find((p) => p.name === "metrics");
check(svcPort && svcPort.port === PORT && (svcPort.targetPort === "metrics" || svcPort.targetPort === PORT),
  "the Service's port metrics is " + PORT + " and reaches the container's", svcPort);
const sm = one("ServiceMonitor");
check(matches(sm.spec.selector.matchLabels, svc.metadata.labels || {}), "the ServiceMonitor selects the Service's labels");
check(!sm.spec.namespaceSelector, "the ServiceMonitor looks in its own namespace");
const alertsText = fs.readFileSync(path.join(root, "config", "prometheus", "alerts.yml"), "utf8");
const job = (alertsText.match(/up\{job="([^"]+)"\}/) || [])[1];
for (const ep of sm.spec.endpoints || []) {
  check(ep.port === svcPort.name, "the ServiceMonitor scrapes the Service's port by its name " + svcPort.name, ep.port);
  check(ep.path === "/metrics", "the ServiceMonitor scrapes /metrics", ep.path);
  const jobRelabel = (ep.relabelings || []).find((r) => r.targetLabel === "job");
  check(job && jobRelabel && jobRelabel.replacement === job,
    "the ServiceMonitor's job label is alerts.yml's " + job, jobRelabel);
}

// ---- kube-prometheus-stack: the release label on what its Prometheus selects by it, and on nothing else ----
const rule = one("PrometheusRule");
for (const o of objects) {
  const release = ((o.metadata || {}).labels || {}).release;
  if (o.kind === "ServiceMonitor" || o.kind === "PrometheusRule")
    check(typeof release === "string" && release.length > 0, "the " + o.kind + " carries the release label", release);
  else check(release === undefined, "the " + o.kind + " " + o.metadata.name + " carries no release label", release);
}

// ---- the NetworkPolicy: the Deployment's pods, their metrics port, from Prometheus's namespace only ----
const np = one("NetworkPolicy");
const npSpec = np.spec || {};
check(matches((npSpec.podSelector || {}).matchLabels, podLabels), "the NetworkPolicy selects the Deployment's pods");
check((npSpec.policyTypes || []).includes("Ingress"), "the NetworkPolicy governs ingress", npSpec.policyTypes);
const ingress = npSpec.ingress || [];
check(ingress.length > 0, "the NetworkPolicy admits something (else nothing could scrape)");
for (const [i, r] of ingress.entries()) {
  const from = r.from || [];
  check(from.length > 0, "ingress rule " + i + " names where from (without from, anyone)", r);
  for (const f of from) {
    const nsName = ((f.namespaceSelector || {}).matchLabels || {})["kubernetes.io/metadata.name"];
    check(!f.ipBlock && typeof nsName === "string" && nsName.length > 0 && nsName !== ns,
      "ingress rule " + i + " admits one other namespace by name (Prometheus's)", f);
  }
  const ports = r.ports || [];
  check(ports.length > 0, "ingress rule " + i + " names its ports (without, every port)", r);
  for (const p of ports)
    check(portOf(p.port) === PORT && (p.protocol || "TCP") === "TCP",
      "ingress rule " + i + " admits the container's metrics port " + PORT + " only", p);
}

// ---- the generated resources are their sources, exactly ----
const alerts = YAML.parse(alertsText);
check(isDeepStrictEqual(rule.spec, alerts), "the PrometheusRule's spec is config/prometheus/alerts.yml");
const dash = objects.find((o) => o.kind === "ConfigMap" && (o.metadata.labels || {}).grafana_dashboard !== undefined);
check(dash && dash.metadata.labels.grafana_dashboard === "1", "a ConfigMap carries grafana_dashboard: \"1\"");
const dashText = fs.readFileSync(path.join(root, "config", "grafana", "deadline-cloud-exporter.json"), "utf8");
const dashData = dash ? Object.values(dash.data || {}) : [];
check(dashData.length === 1 && dashData[0] === dashText,
  "the dashboard ConfigMap holds config/grafana/deadline-cloud-exporter.json byte for byte");
let dashboard = null;
try {
  dashboard = JSON.parse(dashText);
  check(true, "the dashboard is JSON");
} catch (e) {
  check(false, "the dashboard is JSON", e.message);
}
if (dashboard) require("./dashboard.js").checkDashboard(dashboard, need("@grafana/schema"), check);

console.log(failures ? failures + " check(s) failed" : "all checks passed");
process.exit(failures ? 1 : 0);
