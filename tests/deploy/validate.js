// validate: deploy/kubernetes against the Kubernetes and Prometheus Operator schemas, offline, and against each other.
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
  "v1/ServiceAccount": () => need("kubernetes-models/v1/ServiceAccount").ServiceAccount,
  "v1/Service": () => need("kubernetes-models/v1/Service").Service,
  "v1/ConfigMap": () => need("kubernetes-models/v1/ConfigMap").ConfigMap,
  "apps/v1/Deployment": () => need("kubernetes-models/apps/v1/Deployment").Deployment,
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
  check(!(obj.metadata && obj.metadata.namespace), where + ": " + key + " names no namespace (kubectl -n sets it)");
}

// ---- the kustomization lists every file, and every file it lists exists ----
const kust = readYaml(path.join(dir, "kustomization.yaml"))[0];
const resources = kust.resources || [];
const generated = (kust.configMapGenerator || []).flatMap((g) => g.files || []);
const listed = new Set([...resources, ...generated]);
const present = fs.readdirSync(dir).filter((f) => f !== "kustomization.yaml");
for (const f of present) check(listed.has(f), "kustomization.yaml lists " + f);
for (const f of listed) check(fs.existsSync(path.join(dir, f)), "kustomization.yaml's " + f + " exists");
check(!kust.namespace, "kustomization.yaml sets no namespace");

// ---- every resource is valid ----
const objects = [];
for (const f of resources) {
  for (const obj of readYaml(path.join(dir, f))) {
    validate(obj, f);
    objects.push(obj);
  }
}
for (const g of kust.configMapGenerator || []) {
  const data = {};
  for (const f of g.files) data[path.basename(f)] = fs.readFileSync(path.join(dir, f), "utf8");
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: g.name, labels: (g.options || {}).labels }, data };
  validate(cm, "configMapGenerator " + g.name);
  objects.push(cm);
}
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
const listen = args[args.indexOf("--listen") + 1] || "";
check(args.includes("--listen") && listen === "0.0.0.0:" + PORT, "the container listens on 0.0.0.0:" + PORT, args);
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

// ---- the generated resources are their sources, exactly ----
const rule = one("PrometheusRule");
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
