#!/usr/bin/env python3
"""house_rules: the rules of docs/conventions.md and docs/architecture.md that a program can check, checked.

usage: house_rules.py [--root DIR] [--rules RULE,...] [--clang-format PROGRAM]

Each problem is printed as FILE:LINE: RULE: what is wrong, and what to do. The rules:
  layers  an #include "folder/x.h" of a folder that docs/architecture.md's layer table does not list in the
          including folder's "uses" column (nor what those use in turn); a header included without its folder;
          a folder missing from the table; the table and each folder's meson.build disagreeing (the folders and
          libraries it declares), and daemon/include/<library>/ (the compiler's view) disagreeing with the table
  deps    an external header (<curl/curl.h>, <openssl/...>, ...) included in a folder whose meson.build does not
          declare that library, and a library declared there that no file of the folder includes
  size    a daemon file over 800 lines, a function over 100 lines (beyond the exceptions listed below)
  format  a C file that Debian's clang-format 14 with the root's .clang-format would change
Exit status: 0 clean; 1 a problem; 77 (a skip, for meson) nothing wrong but the format not judged, because
clang-format 14 is not installed (its formatting differs between major versions, so no other one judges).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

RULES = ("layers", "deps", "size", "format")
FILE_MAX_LINES = 800
FUNCTION_MAX_LINES = 100
CLANG_FORMAT_MAJOR = 14

# Functions allowed past FUNCTION_MAX_LINES: (file, function) -> why. An entry that no longer applies is a problem
# too, so that the list only shrinks.
FUNCTION_EXCEPTIONS = {
    # To be split: each is one long sequence of set-up steps, each step checked.
    ("daemon/aws/credentials/aws_process.c", "aws_process_credentials"): "139 lines: spawn, read, wait, parse",
    ("daemon/web/http_server.c", "http_server_new"): "102 lines: libmicrohttpd's options",
}

# An external header -> the library (its pkg-config name, as in meson's dependency()) that provides it.
HEADER_LIBRARIES = (
    (re.compile(r"curl/"), "libcurl"),
    (re.compile(r"yajl/"), "yajl"),
    (re.compile(r"openssl/"), "libcrypto"),
    (re.compile(r"zlib\.h$"), "zlib"),
    (re.compile(r"isa-l[./]"), "libisal"),
    (re.compile(r"expat\.h$"), "expat"),
    (re.compile(r"microhttpd\.h$"), "libmicrohttpd"),
    (re.compile(r"gnutls/"), "gnutls"),
    (re.compile(r"crypt\.h$"), "libcrypt"),
    (re.compile(r"libconfig\.h$"), "libconfig"),
    (re.compile(r"pcre2\.h$"), "libpcre2-8"),
    (re.compile(r"pthread\.h$"), "threads"),
)

# The names docs/architecture.md's table gives the libraries (lower case, a remark in parentheses left out).
TABLE_LIBRARIES = {
    "pthreads": "threads",
    "libcurl": "libcurl",
    "yajl": "yajl",
    "openssl": "libcrypto",
    "libcrypto": "libcrypto",
    "zlib": "zlib",
    "isa-l": "libisal",
    "libisal": "libisal",
    "expat": "expat",
    "libmicrohttpd": "libmicrohttpd",
    "gnutls": "gnutls",
    "libcrypt": "libcrypt",
    "libconfig": "libconfig",
    "pcre2": "libpcre2-8",
    "libpcre2": "libpcre2-8",
    "libpcre2-8": "libpcre2-8",
}

TABLE_HEADER = re.compile(r"^\|\s*folder\s*\|\s*uses\s*\|\s*external libraries\s*\|\s*$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
EVERYTHING = "everything"
# Files directly in daemon/ (main.c and its companions) take the table's row for main.c.
TOP_ROW = "main.c"
SELF = "tests/ci/house_rules.py"


class Report:
    """The problems found, printed as they come."""

    def __init__(self):
        self.problems = 0

    def add(self, path, line, rule, text):
        self.problems += 1
        print("%s:%d: %s: %s" % (path, line, rule, text))


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().split("\n")


def daemon_files(root):
    """The daemon's C files, relative to root, sorted; links (daemon/include/) are not followed."""
    out = []
    for top, dirs, files in os.walk(os.path.join(root, "daemon")):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(top, d)))
        for name in files:
            full = os.path.join(top, name)
            if name.endswith((".c", ".h")) and not os.path.islink(full):
                out.append(os.path.relpath(full, root))
    return sorted(out)


def c_files(root):
    """Every C file the format covers: the daemon's and the tests' (simulator, unit, fuzz, bench)."""
    out = daemon_files(root)
    for top, dirs, files in os.walk(os.path.join(root, "tests")):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(top, d)))
        out += [os.path.relpath(os.path.join(top, n), root) for n in files if n.endswith((".c", ".h"))]
    return sorted(out)


# ---- docs/architecture.md's table ----


class Layer:
    def __init__(self, name, line, uses, libraries):
        self.name = name  # "aws/credentials", or TOP_ROW
        self.line = line
        self.uses = uses  # folder names, or None for everything
        self.libraries = libraries  # pkg-config names
        self.closure = set()


def read_table(root, report):
    """The layer table: {folder: Layer}, with each folder's transitive uses; None when it cannot be read."""
    doc = "docs/architecture.md"
    try:
        lines = read_lines(os.path.join(root, doc))
    except OSError as e:
        report.add(doc, 1, "layers", "cannot read the layer table: %s" % e.strerror)
        return None
    start = next((i for i, ln in enumerate(lines) if TABLE_HEADER.match(ln)), None)
    if start is None:
        report.add(doc, 1, "layers", 'no table with the header "| folder | uses | external libraries |"')
        return None
    table = {}
    for i in range(start + 2, len(lines)):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        if not lines[i].startswith("|"):
            break
        if len(cells) != 3:
            report.add(doc, i + 1, "layers", "a row of the layer table needs 3 cells, not %d" % len(cells))
            continue
        name = cells[0].strip("`").rstrip("/")
        words = [w.strip() for w in cells[1].split(",") if w.strip() not in ("", "—", "-")]
        uses = None if words == [EVERYTHING] else [w.strip("`").rstrip("/") for w in words]
        libraries = []
        for w in cells[2].split(","):
            w = re.sub(r"\(.*?\)", "", w).strip().lower()
            if not w:
                continue
            if w not in TABLE_LIBRARIES:
                report.add(doc, i + 1, "layers", "the library %r is unknown to %s: add it to TABLE_LIBRARIES"
                           % (w, os.path.basename(__file__)))
                continue
            libraries.append(TABLE_LIBRARIES[w])
        table[name] = Layer(name, i + 1, uses, libraries)
    for layer in table.values():
        for used in layer.uses or []:
            if used not in table:
                report.add(doc, layer.line, "layers", "%s uses %s, which has no row" % (layer.name, used))
    for layer in table.values():
        if layer.uses is None:
            continue
        todo = list(layer.uses)
        while todo:
            used = todo.pop()
            if used in layer.closure or used not in table:
                continue
            layer.closure.add(used)
            todo += table[used].uses or []
        if layer.name in layer.closure:
            report.add(doc, layer.line, "layers", "%s uses itself through %s: the layers form a cycle"
                       % (layer.name, ", ".join(sorted(layer.closure))))
    return table


def layer_of(table, path):
    """The table's row for daemon/<path> (a folder's, or main.c's for a file directly in daemon/), or None."""
    folder = os.path.dirname(path)
    if not folder:
        return table.get(TOP_ROW)
    best = None
    for name in table:
        if folder == name or folder.startswith(name + "/"):
            if best is None or len(name) > len(best):
                best = name
    return table.get(best) if best else None


# ---- meson.build ----


def meson_call_args(text, function):
    """The argument text of each call function(...) in text, with the offset where it starts."""
    out = []
    for m in re.finditer(r"\b%s\s*\(" % re.escape(function), text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            c = text[i]
            if c == "'":
                i = text.index("'", i + 1)
            elif c == "#":
                i = text.find("\n", i)
                i = len(text) if i < 0 else i
            elif c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            i += 1
        out.append((text[m.end():i - 1], m.end()))
    return out


def meson_externals(root):
    """The name = dependency('pkg', ...) assignments of the root's and the daemon's meson.build: {name: pkg}."""
    paths = [os.path.join(root, "meson.build")]
    for top, dirs, files in os.walk(os.path.join(root, "daemon")):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(top, d)))
        paths += [os.path.join(top, "meson.build")] if "meson.build" in files else []
    out = {}
    for path in paths:
        text = "\n".join(read_lines(path))
        out.update(re.findall(r"^(\w+)\s*=\s*dependency\(\s*'([^']+)'", text, re.M))
    return out


class MesonLibrary:
    def __init__(self, path, line, internals, externals):
        self.path = path
        self.line = line  # of its dependencies
        self.internals = internals  # the *_dep names it uses
        self.externals = externals  # pkg-config names


def read_meson_library(root, folder, externals, report):
    """daemon/<folder>/meson.build's static_library: what it is declared to use; None when unreadable."""
    path = "daemon/%s/meson.build" % folder
    try:
        text = "\n".join(read_lines(os.path.join(root, path)))
    except OSError:
        report.add(path, 1, "layers", "the table lists %s/ but it has no meson.build" % folder)
        return None
    calls = meson_call_args(text, "static_library")
    if len(calls) != 1:
        report.add(path, 1, "layers", "%d static_library() calls: one library per folder" % len(calls))
        return None
    args, offset = calls[0]
    m = re.search(r"\bdependencies\s*:\s*\[", args)
    if not m:
        return MesonLibrary(path, text.count("\n", 0, offset) + 1, [], [])
    line = text.count("\n", 0, offset + m.start()) + 1
    items = re.sub(r"#[^\n]*", "", args[m.end():args.index("]", m.end())])
    internals, libraries = [], []
    for item in (x.strip() for x in items.split(",")):
        inline = re.match(r"dependency\(\s*'([^']+)'", item)
        if not item:
            continue
        if inline:
            libraries.append(inline.group(1))
        elif item.endswith("_dep"):
            internals.append(item)
        elif item in externals:
            libraries.append(externals[item])
        else:
            report.add(path, line, "layers", "the dependency %r is neither a folder's *_dep nor a dependency() of the "
                       "root meson.build" % item)
    return MesonLibrary(path, line, internals, libraries)


def read_meson(root, table, report):
    """{folder: MesonLibrary} for every folder of the table that has a library (rows using everything have none),
    and {*_dep name: folder}."""
    externals = meson_externals(root)
    libs, dep_names = {}, {}
    for name, layer in table.items():
        if layer.uses is None or name == TOP_ROW:
            continue
        lib = read_meson_library(root, name, externals, report)
        if lib is None:
            continue
        libs[name] = lib
        text = "\n".join(read_lines(os.path.join(root, lib.path)))
        for dep in re.findall(r"^(\w+_dep)\s*=\s*declare_dependency", text, re.M):
            dep_names[dep] = name
    return libs, dep_names


def check_meson(table, libs, dep_names, report):
    """Each folder's meson.build declares the folders and libraries the table gives it, no more, no fewer."""
    for name, lib in libs.items():
        layer = table[name]
        declared = set()
        for dep in lib.internals:
            if dep not in dep_names:
                report.add(lib.path, lib.line, "layers", "%s is no folder's library" % dep)
            else:
                declared.add(dep_names[dep])
        if declared != set(layer.uses):
            report.add(lib.path, lib.line, "layers", "uses %s; docs/architecture.md:%d says %s: make them agree"
                       % (", ".join(sorted(declared)) or "no folder", layer.line,
                          ", ".join(sorted(layer.uses)) or "none"))
        if set(lib.externals) != set(layer.libraries):
            report.add(lib.path, lib.line, "layers", "declares the libraries %s; docs/architecture.md:%d says %s: "
                       "make them agree" % (", ".join(sorted(set(lib.externals))) or "none", layer.line,
                                            ", ".join(sorted(set(layer.libraries))) or "none"))


def check_include_links(root, table, report):
    """daemon/include/<library>/ must hold a link to its folder and to each folder it may use, and nothing else."""
    for name, layer in sorted(table.items()):
        if layer.uses is None or name == TOP_ROW:
            continue
        rel = "daemon/include/%s" % name.replace("/", "-")
        want = {n.split("/")[0] for n in layer.closure | {name}}
        try:
            have = {e for e in os.listdir(os.path.join(root, rel))}
        except OSError:
            report.add(rel, 1, "layers", "missing: the include path of %s/ (links to %s)"
                       % (name, ", ".join(sorted(want))))
            continue
        for e in sorted(have - want):
            report.add("%s/%s" % (rel, e), 1, "layers", "%s/ may not use %s/: remove the link" % (name, e))
        for e in sorted(want - have):
            report.add(rel, 1, "layers", "no link to %s/, which %s/ uses (ln -s ../../%s %s/%s)" % (e, name, e, rel, e))
        for e in sorted(have & want):
            target = os.path.join(root, rel, e)
            if not os.path.islink(target) or os.path.realpath(target) != os.path.realpath(
                    os.path.join(root, "daemon", e)):
                report.add("%s/%s" % (rel, e), 1, "layers", "not a link to daemon/%s" % e)


# ---- the rules on the C files ----


def includes(lines):
    """(line number, '<' or '"', path) of each #include."""
    for i, ln in enumerate(lines):
        m = INCLUDE.match(ln)
        if m:
            yield i + 1, m.group(1), m.group(2)


def check_layers(root, table, files, texts, report):
    for path in files:
        rel = path[len("daemon/"):]
        layer = layer_of(table, rel)
        if layer is None:
            report.add(path, 1, "layers", "%s/ is not in docs/architecture.md's layer table: add its row"
                       % os.path.dirname(rel))
            continue
        for line, kind, header in includes(texts[path]):
            if kind != '"':
                continue
            beside = os.path.normpath(os.path.join(os.path.dirname(rel), header))
            if os.path.dirname(rel) and os.path.isfile(os.path.join(root, "daemon", beside)):
                report.add(path, line, "layers", '"%s": include a header with its folder: "%s"' % (header, beside))
                target_rel = beside
            elif os.path.isfile(os.path.join(root, "daemon", header)):
                target_rel = os.path.normpath(header)
            else:
                continue  # not a daemon header (the compiler says so if it is nobody's)
            target = layer_of(table, target_rel)
            if layer.uses is None or target is layer or (target and target.name in layer.closure):
                continue
            where = target.name + "/" if target and target.name != TOP_ROW else "daemon/" + target_rel
            report.add(path, line, "layers", '"%s": %s/ may not use %s (docs/architecture.md:%d: %s/ uses %s)'
                       % (header, layer.name, where, layer.line, layer.name,
                          ", ".join(layer.uses) or "nothing"))


def check_deps(table, libs, files, texts, report):
    libs = dict(libs)
    top = table.get(TOP_ROW)
    if top is not None and top.uses is not None:
        # The executable has no dependency list of its own (it links every library): its row declares.
        libs[TOP_ROW] = MesonLibrary("docs/architecture.md", top.line, [], top.libraries)
    used = {}
    for path in files:
        rel = path[len("daemon/"):]
        layer = layer_of(table, rel)
        if layer is None or layer.name not in libs:
            continue
        lib = libs[layer.name]
        for line, kind, header in includes(texts[path]):
            if kind != "<":
                continue
            for pattern, library in HEADER_LIBRARIES:
                if pattern.search(header):
                    used.setdefault(layer.name, set()).add(library)
                    if library not in lib.externals:
                        report.add(path, line, "deps", "<%s> is %s's, which %s does not declare: add it to its "
                                   "dependencies" % (header, library, lib.path))
                    break
    for name, lib in sorted(libs.items()):
        for library in sorted(set(lib.externals) - used.get(name, set())):
            report.add(lib.path, lib.line, "deps", "declares %s, which no file of %s includes: remove it"
                       % (library, "daemon/ (main.c's row)" if name == TOP_ROW else name + "/"))


def function_lengths(lines):
    """(name, first line, lines of its body) of each function, as clang-format lays them out: "{" and "}" alone."""
    out = []
    start = None
    for i, ln in enumerate(lines):
        if ln == "{":
            start = i
        elif ln == "}" and start is not None:
            sig = []
            for j in range(start - 1, max(start - 12, -1), -1):
                s = lines[j]
                if not s.strip() or s.startswith(("#", "}")) or s.rstrip().endswith(("*/", ";")):
                    break
                sig.insert(0, s)
            names = [n for n in re.findall(r"(\w+)\s*\(", " ".join(sig)) if not n.startswith("__")]
            first = start - len(sig) + 1
            out.append((names[0] if names else "?", first, i - start - 1))
            start = None
    return out


def check_size(files, texts, report):
    """Files within FILE_MAX_LINES, functions (their body, between the braces) within FUNCTION_MAX_LINES."""
    seen = set()
    for path in files:
        lines = texts[path]
        n = len(lines) - (1 if lines and lines[-1] == "" else 0)
        if n > FILE_MAX_LINES:
            report.add(path, FILE_MAX_LINES + 1, "size", "%d lines, over %d: split it along its nouns"
                       % (n, FILE_MAX_LINES))
        for name, line, length in function_lengths(lines):
            if length <= FUNCTION_MAX_LINES:
                continue
            if (path, name) in FUNCTION_EXCEPTIONS:
                seen.add((path, name))
                continue
            report.add(path, line, "size", "%s() is %d lines, over %d: split it" % (name, length, FUNCTION_MAX_LINES))
    for path, name in sorted(set(FUNCTION_EXCEPTIONS) - seen):
        report.add(SELF, 1, "size", "the exception for %s's %s() is no longer "
                   "needed (it is gone or within %d lines): remove it from FUNCTION_EXCEPTIONS"
                   % (path, name, FUNCTION_MAX_LINES))


def clang_format_program(wanted):
    """The clang-format to judge with and its major version, or (None, why)."""
    candidates = [wanted] if wanted else [os.environ.get("CLANG_FORMAT"), "clang-format-%d" % CLANG_FORMAT_MAJOR,
                                          "clang-format"]
    found = []
    for prog in (c for c in candidates if c):
        path = shutil.which(prog)
        if not path:
            continue
        try:
            out = subprocess.run([path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=30).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.SubprocessError) as e:
            found.append("%s (%s)" % (prog, e))
            continue
        m = re.search(r"version (\d+)\.", out)
        if m and int(m.group(1)) == CLANG_FORMAT_MAJOR:
            return path, None
        found.append("%s (%s)" % (prog, out.strip() or "no version"))
    return None, "clang-format %d is needed (Debian: apt-get install clang-format); found %s" % (
        CLANG_FORMAT_MAJOR, ", ".join(found) or "none")


def check_format(root, program, report):
    """Returns None when judged, else why not."""
    prog, why = clang_format_program(program)
    if not prog:
        return why
    files = c_files(root)
    style = os.path.join(root, ".clang-format")
    # One process for every file; --style=file:PATH so that only the root's file counts.
    p = subprocess.run([prog, "--dry-run", "--Werror", "--style=file:" + style] + files, cwd=root,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = p.stdout.decode("utf-8", "replace")
    lines = set()
    for m in re.finditer(r"^(.+?):(\d+):\d+: (?:error|warning): code should be clang-formatted", out, re.M):
        lines.add((os.path.relpath(os.path.join(root, m.group(1)), root), int(m.group(2))))
    for path, line in sorted(lines):
        report.add(path, line, "format", "clang-format %d would change this line (clang-format -i %s)"
                   % (CLANG_FORMAT_MAJOR, path))
    if p.returncode != 0 and not lines:
        report.add(".clang-format", 1, "format", "clang-format failed: %s" % out.strip()[:500])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--rules", default=",".join(RULES), help="comma-separated: " + ", ".join(RULES))
    ap.add_argument("--clang-format", dest="clang_format", help="the program (default: clang-format-14, clang-format)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    rules = [r for r in args.rules.split(",") if r]
    for r in rules:
        if r not in RULES:
            ap.error("unknown rule %r (%s)" % (r, ", ".join(RULES)))
    report = Report()
    files = daemon_files(root)
    texts = {p: read_lines(os.path.join(root, p)) for p in files}
    not_judged = None
    if "layers" in rules or "deps" in rules:
        table = read_table(root, report)
        if table is not None:
            libs, dep_names = read_meson(root, table, report)
            if "layers" in rules:
                check_meson(table, libs, dep_names, report)
                check_include_links(root, table, report)
                check_layers(root, table, files, texts, report)
            if "deps" in rules:
                check_deps(table, libs, files, texts, report)
    if "size" in rules:
        check_size(files, texts, report)
    if "format" in rules:
        not_judged = check_format(root, args.clang_format, report)
    if report.problems:
        print("house_rules: %d problem%s (%s)" % (report.problems, "s" if report.problems > 1 else "",
                                                     "see docs/conventions.md"))
        return 1
    if not_judged:
        print("SKIP: house_rules: the format is not judged: %s" % not_judged)
        return 77
    print("house_rules: %s: no problem in %d daemon files" % (", ".join(rules), len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
