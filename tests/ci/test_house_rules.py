#!/usr/bin/env python3
"""test_house_rules: tests/ci/house_rules.py fires on each rule: a copy of the real tree, clean, then doctored with
one violation at a time, must give that problem at its FILE:LINE (and no other rule's).

usage: test_house_rules.py [SOURCE_ROOT]
Exit status 77 (skipped) when everything else passed but clang-format 14 is missing for the format cases.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "house_rules.py")
sys.path.insert(0, HERE)
import house_rules  # noqa: E402  (its exceptions and version pin)

NO_FORMAT = "layers,deps,size"
failures = 0


class FixtureError(Exception):
    """The real tree no longer has what a case doctors: the case needs updating, not the check."""


def path_of(root, rel):
    return os.path.join(root, rel)


def read(root, rel):
    with open(path_of(root, rel), encoding="utf-8") as f:
        return f.read().split("\n")


def write(root, rel, lines):
    os.makedirs(os.path.dirname(path_of(root, rel)), exist_ok=True)
    with open(path_of(root, rel), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def insert_after_includes(root, rel, text):
    """Inserts text after rel's last #include; returns its line number."""
    lines = read(root, rel)
    last = max((i for i, ln in enumerate(lines) if ln.startswith("#include")), default=None)
    if last is None:
        raise FixtureError("%s has no #include" % rel)
    lines.insert(last + 1, text)
    write(root, rel, lines)
    return last + 2


def append(root, rel, new):
    """Appends the lines new to rel; returns the line number of the first."""
    lines = read(root, rel)
    if lines and lines[-1] == "":
        lines.pop()
    first = len(lines) + 1
    write(root, rel, lines + new + [""])
    return first


def edit(root, rel, pattern, repl, count=0):
    """re.sub on rel's text; the pattern must match."""
    text = "\n".join(read(root, rel))
    new, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    if n == 0:
        raise FixtureError("%s: no %r" % (rel, pattern))
    write(root, rel, new.split("\n"))


def line_of(root, rel, pattern):
    """The number of rel's first line matching pattern."""
    for i, ln in enumerate(read(root, rel)):
        if re.search(pattern, ln):
            return i + 1
    raise FixtureError("%s: no line matches %r" % (rel, pattern))


def table_row(root, folder):
    return line_of(root, "docs/architecture.md", r"^\| `%s/` \|" % re.escape(folder))


def library_line(root, folder):
    """The line of the dependencies of daemon/<folder>/meson.build's static_library."""
    return line_of(root, "daemon/%s/meson.build" % folder, r"^\s*dependencies\s*:")


def set_row_libraries(root, folder, change):
    """Rewrites the external libraries cell of folder's row with change(list of names)."""
    rel = "docs/architecture.md"
    lines = read(root, rel)
    i = table_row(root, folder) - 1
    cells = lines[i].split("|")
    names = [w.strip() for w in cells[3].split(",") if w.strip()]
    cells[3] = " %s " % ", ".join(change(names))
    lines[i] = "|".join(cells)
    write(root, rel, lines)


# ---- the cases: each doctors the copy and says what must be found ----
# A case returns (rules to run, expected exit status, [(path, line, rule, text the message holds)]).


def case_clean(root):
    return None, 0, []


def case_web_uses_deadline(root):
    line = insert_after_includes(root, "daemon/web/tls.c", '#include "deadline/poller.h"')
    return NO_FORMAT, 1, [("daemon/web/tls.c", line, "layers", "web/ may not use deadline/")]


def case_util_uses_config(root):
    line = insert_after_includes(root, "daemon/util/env.c", '#include "config/config.h"')
    return NO_FORMAT, 1, [("daemon/util/env.c", line, "layers", "util/ may not use config/")]


def case_aws_uses_credentials_without_folder(root):
    line = insert_after_includes(root, "daemon/aws/sigv4.c", '#include "credentials/aws_credentials.h"')
    return NO_FORMAT, 1, [("daemon/aws/sigv4.c", line, "layers", "with its folder"),
                          ("daemon/aws/sigv4.c", line, "layers", "aws/ may not use aws/credentials/")]


def case_folder_uses_top_level(root):
    write(root, "daemon/runtime.h", ["/* runtime: a fixture */", "#pragma once", ""])
    line = insert_after_includes(root, "daemon/web/tls.c", '#include "runtime.h"')
    return NO_FORMAT, 1, [("daemon/web/tls.c", line, "layers", "may not use daemon/runtime.h")]


def case_top_level_uses_everything(root):
    write(root, "daemon/runtime.c", ["/* runtime: a fixture */", '#include "deadline/poller.h"',
                                     '#include "web/http_server.h"', '#include "aws/credentials/aws_credentials.h"',
                                     ""])
    return NO_FORMAT, 0, []


def case_folder_not_in_table(root):
    write(root, "daemon/extra/extra.c", ["/* extra: a fixture */", '#include "util/log.h"', ""])
    return NO_FORMAT, 1, [("daemon/extra/extra.c", 1, "layers", "extra/ is not in docs/architecture.md")]


def case_meson_uses_less_than_table(root):
    edit(root, "daemon/web/meson.build", r"\bconfig_dep, ", "")
    return NO_FORMAT, 1, [("daemon/web/meson.build", library_line(root, "web"), "layers",
                           "docs/architecture.md:%d says config, metrics, util" % table_row(root, "web"))]


def case_table_libraries_drift(root):
    set_row_libraries(root, "aws/credentials", lambda names: [n for n in names if n != "yajl"])
    return NO_FORMAT, 1, [("daemon/aws/credentials/meson.build", library_line(root, "aws/credentials"), "layers",
                           "docs/architecture.md:%d says" % table_row(root, "aws/credentials"))]


def case_table_unknown_library(root):
    set_row_libraries(root, "web", lambda names: names + ["libfoo"])
    return NO_FORMAT, 1, [("docs/architecture.md", table_row(root, "web"), "layers", "'libfoo' is unknown")]


def case_table_cycle(root):
    edit(root, "docs/architecture.md", r"^\| `util/` \| — \|", "| `util/` | web |")
    return NO_FORMAT, 1, [("docs/architecture.md", table_row(root, "util"), "layers", "form a cycle")]


def case_include_link_too_many(root):
    os.symlink("../../deadline", path_of(root, "daemon/include/web/deadline"))
    return NO_FORMAT, 1, [("daemon/include/web/deadline", 1, "layers", "web/ may not use deadline/")]


def case_include_link_missing(root):
    os.unlink(path_of(root, "daemon/include/web/config"))
    return NO_FORMAT, 1, [("daemon/include/web", 1, "layers", "no link to config/")]


def case_header_of_undeclared_library(root):
    edit(root, "daemon/aws/credentials/meson.build", r", yajl\b", "")
    set_row_libraries(root, "aws/credentials", lambda names: [n for n in names if n != "yajl"])
    folder = "daemon/aws/credentials"
    hits = sorted((f, line_of(root, "%s/%s" % (folder, f), r"^#include <yajl/"))
                  for f in os.listdir(path_of(root, folder))
                  if f.endswith((".c", ".h")) and any(ln.startswith("#include <yajl/")
                                                      for ln in read(root, "%s/%s" % (folder, f))))
    if not hits:
        raise FixtureError("no file of %s includes yajl" % folder)
    return NO_FORMAT, 1, [("%s/%s" % (folder, f), line, "deps", "which %s/meson.build does not declare" % folder)
                          for f, line in hits]


def case_pcre2_undeclared(root):
    line = insert_after_includes(root, "daemon/web/tls.c", "#include <pcre2.h>")
    return NO_FORMAT, 1, [("daemon/web/tls.c", line, "deps", "libpcre2-8's, which daemon/web/meson.build")]


def case_top_level_library_not_in_row(root):
    line = insert_after_includes(root, "daemon/main.c", "#include <yajl/yajl_tree.h>")
    return NO_FORMAT, 1, [("daemon/main.c", line, "deps", "which docs/architecture.md does not declare")]


def case_library_declared_unused(root):
    edit(root, "daemon/aws/meson.build", r"\[util_dep, ", "[util_dep, zlib, ", count=1)
    set_row_libraries(root, "aws", lambda names: names + ["zlib"])
    return NO_FORMAT, 1, [("daemon/aws/meson.build", library_line(root, "aws"), "deps",
                           "declares zlib, which no file of aws/ includes")]


def case_file_too_long(root):
    append(root, "daemon/util/env.c", ["/* padding */"] * house_rules.FILE_MAX_LINES)
    return NO_FORMAT, 1, [("daemon/util/env.c", house_rules.FILE_MAX_LINES + 1, "size", "over 800")]


def case_function_too_long(root):
    body = ["\tint n = 0;"] + ["\tn++;"] * house_rules.FUNCTION_MAX_LINES + ["\treturn n;"]
    line = append(root, "daemon/util/env.c", ["", "int env_fixture_long(void);", "int env_fixture_long(void)", "{"]
                  + body + ["}"])
    return NO_FORMAT, 1, [("daemon/util/env.c", line + 2, "size", "env_fixture_long() is %d lines" % len(body))]


def case_function_at_limit(root):
    body = ["\tint n = 0;"] + ["\tn++;"] * (house_rules.FUNCTION_MAX_LINES - 2) + ["\treturn n;"]
    append(root, "daemon/util/env.c", ["", "int env_fixture_long(void);", "int env_fixture_long(void)", "{"]
           + body + ["}"])
    return NO_FORMAT, 0, []


def case_stale_exception(root):
    if not house_rules.FUNCTION_EXCEPTIONS:
        return "skip", 0, []
    path = sorted(house_rules.FUNCTION_EXCEPTIONS)[0][0]
    os.unlink(path_of(root, path))
    return "size", 1, [(house_rules.SELF, 1, "size", "the exception for %s's %s() is no longer needed" % (path, name))
                       for p, name in sorted(house_rules.FUNCTION_EXCEPTIONS) if p == path]


def case_format(root):
    line = append(root, "daemon/util/env.c", ["int env_fixture_probe(void);",
                                              "int env_fixture_probe(void) { return 0; }"])
    return None, 1, [("daemon/util/env.c", line + 1, "format", "clang-format 14 would change this line")]


def case_format_other_version(root):
    fake = path_of(root, "clang-format-other")
    with open(fake, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\necho 'Debian clang-format version %d.0.6'\n" % (house_rules.CLANG_FORMAT_MAJOR + 1))
    os.chmod(fake, 0o755)
    return ["--rules", "format", "--clang-format", fake], 77, [
        (None, None, "SKIP", "clang-format %d is needed" % house_rules.CLANG_FORMAT_MAJOR)]


CASES = [
    ("the real tree, copied: clean", case_clean, True),
    ("web/ includes deadline/", case_web_uses_deadline, False),
    ("util/ includes config/", case_util_uses_config, False),
    ("aws/ includes aws/credentials/ without its folder", case_aws_uses_credentials_without_folder, False),
    ("a folder includes a top-level header", case_folder_uses_top_level, False),
    ("a top-level module (the runtime) includes every folder", case_top_level_uses_everything, False),
    ("a folder the table lacks", case_folder_not_in_table, False),
    ("meson.build uses fewer folders than the table", case_meson_uses_less_than_table, False),
    ("the table's libraries differ from meson.build's", case_table_libraries_drift, False),
    ("the table names an unknown library", case_table_unknown_library, False),
    ("the table's layers form a cycle", case_table_cycle, False),
    ("an include link to a folder not used", case_include_link_too_many, False),
    ("an include link missing", case_include_link_missing, False),
    ("a header of a library not declared", case_header_of_undeclared_library, False),
    ("<pcre2.h> in web/, which does not declare PCRE2", case_pcre2_undeclared, False),
    ("a top-level file includes a library its row lacks", case_top_level_library_not_in_row, False),
    ("a library declared and not included", case_library_declared_unused, False),
    ("a file over 800 lines", case_file_too_long, False),
    ("a function over 100 lines", case_function_too_long, False),
    ("a function of 100 lines", case_function_at_limit, False),
    ("an exception no longer needed", case_stale_exception, False),
    ("a line clang-format would change", case_format, True),
    ("another clang-format version refuses to judge", case_format_other_version, False),
]

PROBLEM = re.compile(r"^(.+?):(\d+): (\w+): (.*)$")


def copy_tree(source, dest):
    """What the check reads: the layer table, the meson files, .clang-format and the daemon (links kept)."""
    os.makedirs(os.path.join(dest, "docs"))
    for rel in ("docs/architecture.md", "meson.build", ".clang-format"):
        shutil.copy(os.path.join(source, rel), os.path.join(dest, rel))
    shutil.copytree(os.path.join(source, "daemon"), os.path.join(dest, "daemon"), symlinks=True)


def run_case(source, work, name, fn, clang_format):
    """Returns True when judged, False when skipped."""
    global failures
    root = os.path.join(work, re.sub(r"\W+", "-", name).strip("-"))
    copy_tree(source, root)
    try:
        rules, status, expected = fn(root)
    except FixtureError as e:
        failures += 1
        print("FAIL: %s: the fixture is out of date: %s" % (name, e))
        return True
    if rules == "skip":
        print("ok: %s: nothing to test" % name)
        return True
    args = [sys.executable, CHECK, "--root", root]
    if isinstance(rules, list):
        args += rules
    else:
        args += ["--rules", rules] if rules else []
        if clang_format:
            args += ["--clang-format", clang_format]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode("utf-8", "replace").splitlines()
    problems = []
    if p.returncode != status:
        problems.append("exit status %d, expected %d" % (p.returncode, status))
    found = [m.groups() for m in map(PROBLEM.match, out) if m]
    for path, line, rule, text in expected:
        if path is None:
            if not any(ln.startswith(rule) and text in ln for ln in out):
                problems.append("no line %s…%s" % (rule, text))
        elif not any(f[0] == path and int(f[1]) == line and f[2] == rule and text in f[3] for f in found):
            problems.append("no problem %s:%d: %s: …%s…" % (path, line, rule, text))
    rules_expected = {e[2] for e in expected}
    for f in found:
        if f[2] not in rules_expected:
            problems.append("an unexpected problem: %s:%s: %s: %s" % f)
    if problems:
        failures += 1
        print("FAIL: %s: %s\n  output:\n    %s" % (name, "; ".join(problems), "\n    ".join(out)))
    else:
        print("ok: %s: status %d%s" % (name, p.returncode, "".join(
            "; %s:%s: %s" % (e[0], e[1], e[2]) for e in expected if e[0])))
    return True


def main():
    source = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".."))
    clang_format, why = house_rules.clang_format_program(None)
    skipped = []
    with tempfile.TemporaryDirectory(prefix="dce-house-rules-") as work:
        for name, fn, needs_format in CASES:
            if needs_format and not clang_format:
                skipped.append(name)
                # still the other rules on the clean copy
                if fn is case_clean:
                    run_case(source, work, name + " (without the format)", lambda r: (NO_FORMAT, 0, []), None)
                continue
            run_case(source, work, name, fn, clang_format)
    if failures:
        print("%d case%s failed" % (failures, "s" if failures > 1 else ""))
        return 1
    if skipped:
        print("SKIP: not run (%s): %s" % (why, "; ".join(skipped)))
        return 77
    print("all %d cases passed" % len(CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
