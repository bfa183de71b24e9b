#!/usr/bin/env python3
"""Finds import circles between the files of each crate (issue 24: one home for each rule).

For every crate (crates/*/src and ffi/src by default, or the src folders given), the module
tree is read from its roots (lib.rs, main.rs) through `mod x;` declarations (`#[path]`
included), and each file gets an edge to every other file whose items it names:

- `use` declarations (`pub use` re-exports too) and paths in code that start with `crate::`,
  `self::`, `super::` or the name of one of the file's child modules;
- a path is followed through re-exports (`pub use a::Item`, `pub use a::*`) to the file that
  defines the item, so `crate::ClusterError` is an edge to error.rs, not to lib.rs;
- a file naming one of its ancestors (a submodule using its parent's items, `super::Item`) is
  not an edge: a parent module owns its children, and their using what it defines is the
  usual shape of a module folder. Naming a descendant is an edge, so a parent that uses a child
  which uses a sibling which uses the parent's own items is still found;
- test code (`#[cfg(test)]` items, test modules in their own files) is left out unless
  `--tests` is given: a test may set up with anything.

A circle is a strongly connected component of two files or more. Each is printed with the
references that make it, and the exit status is 1 when there is one. Comments and string
literals are ignored. Python 3, standard library only.

    python3 scripts/import-circles.py [--tests] [SRC_DIR...]
"""

import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
ITEM_KINDS = r"(?:fn|struct|enum|const|static|type|trait|union|mod)"


def strip(text):
    """Returns (code, no_comments): comments blanked in both, string and char literals also
    blanked in `code`. Lengths and newlines are kept, so offsets and line numbers agree."""
    code, nocom = list(text), list(text)
    i, n = 0, len(text)

    def blank(a, b, both):
        for k in range(a, b):
            if text[k] != "\n":
                code[k] = " "
                if both:
                    nocom[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j, True)
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j, True)
            i = j
        elif re.match(r'b?r#*"', text[i : i + 258]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'(b?r)(#*)"', text[i:])
            end = text.find('"' + m.group(2), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(2))
            blank(i + 1, j - 1, False)
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j, False)
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}', '\''), else a lifetime or label.
            m = re.match(r"'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'", text[i : i + 12])
            if m:
                blank(i + 1, i + m.end() - 1, False)
                i += m.end()
            else:
                i += 1
        else:
            i += 1
    return "".join(code), "".join(nocom)


def matching_end(code, start):
    """The end of the item starting at `start`: after its first `;` at depth 0 or after the
    `}` that closes its first `{`."""
    depth, j, n = 0, start, len(code)
    while j < n:
        ch = code[j]
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
            if depth == 0 and ch == "}":
                return j + 1
        elif ch == ";" and depth == 0:
            return j + 1
        j += 1
    return n


ATTR = r"#\s*!?\s*\[(?:[^\[\]]|\[[^\[\]]*\])*\]"


def drop_test_items(code):
    """Blanks every item under `#[cfg(test)]` (with its other attributes)."""
    out = list(code)
    for m in reversed(list(re.finditer(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]", code))):
        j = m.end()
        while True:
            a = re.match(r"\s*" + ATTR, code[j:])
            if not a:
                break
            j += a.end()
        end = matching_end(code, j)
        for k in range(m.start(), end):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


class File:
    def __init__(self, path, mod_path, parent, is_dir_owner):
        self.path = path
        self.mod_path = mod_path  # ("renew", "options")
        self.parent = parent  # File or None
        self.is_dir_owner = is_dir_owner  # lib.rs, main.rs, mod.rs: children live beside it
        self.children = {}  # name -> File
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.code, self.nocom = strip(self.text)
        self.inline_mods = []  # (start, end) of `mod x { ... }` blocks

    def ancestors(self):
        p = self.parent
        while p:
            yield p
            p = p.parent

    def line_of(self, offset):
        return self.text.count("\n", 0, offset) + 1


def load_tree(root_path, tests):
    """The files of the module tree rooted at `root_path`."""
    files = []

    def visit(path, mod_path, parent, is_dir_owner):
        f = File(path, mod_path, parent, is_dir_owner)
        if not tests:
            f.code = drop_test_items(f.code)
        files.append(f)
        here = os.path.dirname(path)
        base = here if is_dir_owner else os.path.join(here, os.path.splitext(os.path.basename(path))[0])
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*([;{])", f.code):
            if m.group(2) == "{":
                f.inline_mods.append((m.start(), matching_end(f.code, m.start())))
                continue
            if any(a <= m.start() < b for a, b in f.inline_mods):
                continue  # a file module of an inline module: rare, not followed
            name = m.group(1)
            before = f.nocom[max(0, m.start() - 300) : m.start()]
            attr = re.search(r'#\s*\[\s*path\s*=\s*"([^"]+)"\s*\]\s*(?:' + ATTR + r"\s*)*(?:pub(?:\s*\([^)]*\))?\s*)?$", before)
            if attr:
                child = os.path.join(here, attr.group(1))
                owner = os.path.basename(child) == "mod.rs"
            elif os.path.exists(os.path.join(base, name + ".rs")):
                child, owner = os.path.join(base, name + ".rs"), False
            elif os.path.exists(os.path.join(base, name, "mod.rs")):
                child, owner = os.path.join(base, name, "mod.rs"), True
            else:
                continue
            f.children[name] = visit(child, mod_path + (name,), f, owner)
        return f

    visit(root_path, (), None, True)
    return files


USE_RE = re.compile(r"\buse\s+((?:::)?[A-Za-z_{][^;]*);")


def parse_use(raw):
    """Expands one use tree (as written, whitespace kept so that `as` can be found)."""
    raw = raw.strip().lstrip(":")
    out = []

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur.strip():
            parts.append(cur)
        return parts

    def walk(prefix, s):
        for p in split_top(s):
            p = p.strip()
            if not p:
                continue
            if "{" in p:
                head, rest = p.split("{", 1)
                segs = [x.strip() for x in head.split("::") if x.strip()]
                walk(prefix + segs, rest[: rest.rfind("}")])
                continue
            m = re.match(r"(.*?)\s+as\s+(" + IDENT + r")$", p, re.S)
            path, alias = (m.group(1), m.group(2)) if m else (p, None)
            segs = [x.strip() for x in path.split("::") if x.strip()]
            if segs and segs[-1] == "self":
                segs = segs[:-1]
            full = prefix + segs
            if full:
                out.append((full, alias or full[-1]))

    walk([], raw)
    return out


class Crate:
    def __init__(self, files):
        self.files = files
        self.uses = {}  # File -> [(segments, alias, offset)]
        for f in files:
            self.uses[f] = [
                (segs, alias, m.start())
                for m in USE_RE.finditer(f.code)
                for segs, alias in parse_use(m.group(1))
            ]

    def defines(self, f, name):
        return re.search(r"\b" + ITEM_KINDS + r"\s+" + re.escape(name) + r"\b", f.code) is not None or re.search(
            r"\bmacro_rules!\s*" + re.escape(name) + r"\b", f.code
        ) is not None

    def start(self, f, segs, offset):
        """The module a path starts from, and the rest of the path; None for an outside path."""
        depth = sum(1 for a, b in f.inline_mods if a <= offset < b)
        head, rest = segs[0], segs[1:]
        if head == "crate":
            root = f
            while root.parent:
                root = root.parent
            return root, rest
        if head == "self":
            return f, rest
        if head == "super":
            ups = 1
            while rest and rest[0] == "super":
                ups, rest = ups + 1, rest[1:]
            ups -= depth  # `super` inside an inline module (`mod tests`) is this file first
            cur = f
            for _ in range(max(ups, 0)):
                cur = cur.parent or cur
            return cur, rest
        if head in f.children and depth == 0:
            return f.children[head], rest
        return None

    def resolve(self, f, segs, offset, seen=None):
        """The file that defines what `segs` (as written in `f` at `offset`) names."""
        seen = seen or set()
        s = self.start(f, segs, offset)
        if s is None:
            return None
        cur, rest = s
        for i, seg in enumerate(rest):
            if seg in cur.children:
                cur = cur.children[seg]
                continue
            if seg == "*":
                return cur
            return self.item_home(cur, seg, seen)
        return cur

    def item_home(self, mod, name, seen):
        """Where the item `name` of module file `mod` is defined, following its use lines."""
        key = (mod.path, name)
        if key in seen:
            return mod
        seen = seen | {key}
        if self.defines(mod, name):
            return mod
        for segs, alias, off in self.uses[mod]:
            if segs[-1] != "*" and alias == name:
                target = self.resolve(mod, segs, off, seen)
                return target or mod
        for segs, alias, off in self.uses[mod]:
            if segs[-1] == "*":
                target = self.resolve(mod, segs, off, seen)
                if target is not None and target is not mod:
                    home = self.item_home(target, name, seen)
                    if home is not None and (home is not target or self.defines(target, name)):
                        return home
        return mod

    def edges(self):
        """{from: {to: [(line, text)]}}"""
        edges = defaultdict(lambda: defaultdict(list))
        for f in self.files:
            refs = [(segs, off) for segs, _alias, off in self.uses[f]]
            use_spans = [(m.start(), m.end()) for m in USE_RE.finditer(f.code)]
            starts = ["crate", "self", "super"] + list(f.children)
            pattern = r"(?<![A-Za-z0-9_:])((?:" + "|".join(map(re.escape, starts)) + r")(?:\s*::\s*" + IDENT + r")+)"
            for m in re.finditer(pattern, f.code):
                if any(a <= m.start() < b for a, b in use_spans):
                    continue
                segs = [x.strip() for x in m.group(1).split("::")]
                refs.append((segs, m.start()))
            for segs, off in refs:
                target = self.resolve(f, segs, off)
                if target is None or target is f or target in set(f.ancestors()):
                    continue
                edges[f][target].append((f.line_of(off), "::".join(segs)))
        return edges


def circles(nodes, edges):
    """Strongly connected components of two nodes or more (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for v in nodes:
        if v in index:
            continue
        work = [(v, iter(edges.get(v, {})))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            pushed = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(edges.get(w, {}))))
                    pushed = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if pushed:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w is node:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out


def main(argv):
    tests = "--tests" in argv
    dirs = [a for a in argv if not a.startswith("--")]
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not dirs:
        crates = os.path.join(top, "crates")
        dirs = sorted(os.path.join(crates, d, "src") for d in os.listdir(crates))
        dirs.append(os.path.join(top, "ffi", "src"))
    found = 0
    for src in dirs:
        for root in ("lib.rs", "main.rs"):
            path = os.path.join(src, root)
            if not os.path.exists(path):
                continue
            files = load_tree(path, tests)
            crate = Crate(files)
            edges = crate.edges()
            name = os.path.relpath(path, top)
            comps = circles(files, edges)
            print(f"{name}: {len(files)} files, {sum(len(t) for t in edges.values())} edges, {len(comps)} circles")
            for comp in comps:
                found += 1
                members = set(comp)
                print(f"  circle: {', '.join(sorted(os.path.relpath(f.path, top) for f in comp))}")
                for a in sorted(comp, key=lambda f: f.path):
                    for b, refs in sorted(edges[a].items(), key=lambda kv: kv[0].path):
                        if b in members:
                            line, text = refs[0]
                            more = f" (+{len(refs) - 1} more)" if len(refs) > 1 else ""
                            print(f"    {os.path.relpath(a.path, top)}:{line} -> {os.path.relpath(b.path, top)}: {text}{more}")
    sys.stdout.flush()
    if found:
        print(f"{found} import circle(s): move the shared items to a module both sides can use", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
