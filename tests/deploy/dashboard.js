// dashboard: the Grafana dashboard's structure, offline, against @grafana/schema's enums (the Grafana 10.4 release
// the docs name): panel layout, ids, data sources, targets, variables and every enum-valued option.
"use strict";

// Legend placement is a string union in the schema, not an enum object to read.
const LEGEND_PLACEMENT = ["bottom", "right"];
const BUILTIN_VARIABLES = ["__range", "__rate_interval", "__interval", "__interval_ms", "__range_s", "__range_ms"];

function allPanels(panels) {
  return panels.flatMap((p) => [p, ...allPanels(p.panels || [])]);
}

// check(cond, what, detail) for each rule; schema is the @grafana/schema module.
function checkDashboard(dash, schema, check) {
  const inEnum = (name, value, where) => {
    const allowed = Array.isArray(name) ? name : Object.values(schema[name] || {});
    check(allowed.length > 0 && allowed.includes(value), where + ": " + JSON.stringify(value) + " is a " +
      (Array.isArray(name) ? "legend placement" : name), allowed);
  };
  const panels = allPanels(dash.panels || []);
  const ids = panels.map((p) => p.id);
  check(ids.every(Number.isInteger) && new Set(ids).size === ids.length, "dashboard: panel ids are unique integers");

  // the layout: inside 24 columns, and no two panels on the same cells
  const cells = new Map();
  for (const p of dash.panels) {
    const g = p.gridPos || {};
    const fits = [g.x, g.y, g.w, g.h].every(Number.isInteger) && g.x >= 0 && g.y >= 0 && g.w > 0 && g.h > 0 &&
      g.x + g.w <= 24;
    check(fits, "dashboard: panel " + p.id + " (" + p.title + ") lies within the 24 columns", g);
    if (!fits) continue;
    for (let y = g.y; y < g.y + g.h; y++) {
      for (let x = g.x; x < g.x + g.w; x++) {
        const other = cells.get(y * 24 + x);
        if (other !== undefined) {
          check(false, "dashboard: panel " + p.id + " (" + p.title + ") does not overlap panel " + other, g);
          y = g.y + g.h;
          break;
        }
        cells.set(y * 24 + x, p.id);
      }
    }
  }

  // every panel type is one the dashboard declares it requires (Grafana's import reads __requires)
  const required = new Set((dash.__requires || []).filter((r) => r.type === "panel").map((r) => r.id));
  for (const type of new Set(panels.filter((p) => p.type !== "row").map((p) => p.type))) {
    check(required.has(type), "dashboard: __requires lists the panel type " + type);
  }

  const variables = new Set((dash.templating && dash.templating.list || []).map((v) => v.name));
  for (const v of dash.templating.list) {
    const where = "dashboard: variable $" + v.name;
    inEnum("VariableHide", v.hide, where + " hide");
    if (v.refresh !== undefined) inEnum("VariableRefresh", v.refresh, where + " refresh");
    if (v.sort !== undefined) inEnum("VariableSort", v.sort, where + " sort");
  }

  for (const p of panels) {
    const where = "dashboard: panel " + p.id + " (" + p.title + ")";
    if (p.type === "row") {
      check(p.collapsed === false && Array.isArray(p.panels) && p.panels.length === 0,
        where + ": an open row, its panels after it");
      continue;
    }
    check(p.datasource && p.datasource.uid === "${datasource}", where + " uses the $datasource variable");
    const targets = p.targets || [];
    const refs = targets.map((t) => t.refId);
    check(targets.length > 0 && new Set(refs).size === refs.length, where + ": targets with distinct refIds", refs);
    for (const t of targets) {
      check(t.datasource && t.datasource.uid === "${datasource}" && typeof t.expr === "string" && t.expr.length > 0,
        where + " " + t.refId + ": a PromQL expr on $datasource");
      for (const m of (t.expr || "").matchAll(/\$\{?(\w+)/g)) {
        if (/^\d+$/.test(m[1])) continue; // label_replace's $1
        check(variables.has(m[1]) || BUILTIN_VARIABLES.includes(m[1]),
          where + " " + t.refId + ": $" + m[1] + " is a variable of the dashboard");
      }
    }
    const fc = p.fieldConfig || {};
    const d = fc.defaults || {};
    const c = d.custom || {};
    if (c.drawStyle !== undefined) inEnum("GraphDrawStyle", c.drawStyle, where + " drawStyle");
    if (c.stacking) inEnum("StackingMode", c.stacking.mode, where + " stacking");
    if (c.cellOptions) inEnum("TableCellDisplayMode", c.cellOptions.type, where + " cellOptions");
    if (d.thresholds) inEnum("ThresholdsMode", d.thresholds.mode, where + " thresholds");
    if (d.color) inEnum("FieldColorModeId", d.color.mode, where + " color");
    const mappingLists = [d.mappings || []];
    for (const o of fc.overrides || []) {
      for (const prop of o.properties || []) {
        if (prop.id === "custom.cellOptions") inEnum("TableCellDisplayMode", prop.value.type, where + " override cell");
        if (prop.id === "mappings") mappingLists.push(prop.value);
      }
    }
    for (const m of mappingLists.flat()) inEnum("MappingType", m.type, where + " mapping");
    const o = p.options || {};
    if (o.legend) {
      inEnum("LegendDisplayMode", o.legend.displayMode, where + " legend");
      inEnum(LEGEND_PLACEMENT, o.legend.placement, where + " legend placement");
    }
    if (o.tooltip) {
      inEnum("TooltipDisplayMode", o.tooltip.mode, where + " tooltip");
      inEnum("SortOrder", o.tooltip.sort, where + " tooltip sort");
    }
    if (o.orientation !== undefined) inEnum("VizOrientation", o.orientation, where + " orientation");
    if (p.type === "stat") {
      inEnum("BigValueColorMode", o.colorMode, where + " colorMode");
      inEnum("BigValueGraphMode", o.graphMode, where + " graphMode");
      inEnum("BigValueJustifyMode", o.justifyMode, where + " justifyMode");
      inEnum("BigValueTextMode", o.textMode, where + " textMode");
    }
    if (p.type === "bargauge") {
      inEnum("BarGaugeDisplayMode", o.displayMode, where + " displayMode");
      inEnum("BarGaugeValueMode", o.valueMode, where + " valueMode");
    }
    if (p.type === "table") inEnum("TableCellHeight", o.cellHeight, where + " cellHeight");
  }
}

module.exports = { checkDashboard };
