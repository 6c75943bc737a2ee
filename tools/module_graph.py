"""Print covergenre's module graph: each module, its lines, and the covergenre modules it imports (relative imports
resolved, imports inside functions included); then any import cycle. Exit 1 if there is a cycle.

    python tools/module_graph.py [PACKAGE_DIR]        # default: covergenre/ beside tools/
"""
import ast, sys
from pathlib import Path

def modules(root:Path) -> dict:
    "{module name: (lines, set of covergenre modules it imports)} for every .py file under `root`."
    pkg,res = root.name,{}
    for f in sorted(root.rglob('*.py')):
        parts = f.relative_to(root).with_suffix('').parts
        name = '.'.join((pkg, *parts)).removesuffix('.__init__')
        here = name.split('.') if f.name == '__init__.py' else name.split('.')[:-1]  # the package a relative import starts from
        src = f.read_text(); deps = set()
        for n in ast.walk(ast.parse(src)):
            if isinstance(n, ast.ImportFrom):
                base = '.'.join(here[:len(here) - n.level + 1]) if n.level else ''
                mod = '.'.join(p for p in (base, n.module or '') if p)
                if not mod.startswith(pkg): continue
                deps.add(mod)
                for a in n.names: deps.add(f'{mod}.{a.name}')  # `from . import x` names a module
            elif isinstance(n, ast.Import): deps |= {a.name for a in n.names if a.name.startswith(pkg)}
        res[name] = (len(src.splitlines()), deps)
    names = set(res)
    return {m: (n, {d for d in deps if d in names and d != m and not m.startswith(d + '.')}) for m,(n,deps) in res.items()}

def cycles(graph:dict) -> list:
    "Import cycles, each as a list of modules ending where it starts."
    seen,stack,found = set(),[],[]
    def visit(m):
        if m in stack: found.append(stack[stack.index(m):] + [m]); return
        if m in seen: return
        seen.add(m); stack.append(m)
        for d in sorted(graph[m][1]): visit(d)
        stack.pop()
    for m in sorted(graph): visit(m)
    return found

if __name__ == '__main__':
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]/'covergenre'
    g = modules(root)
    short = lambda m: m.removeprefix(root.name + '.') if m != root.name else m
    for m,(n,deps) in g.items():
        if short(m) == '_modidx': continue
        print(f'{short(m):24s} {n:5d}  -> {", ".join(sorted(map(short, deps))) or "-"}')
    print(f'{"total":24s} {sum(n for m,(n,_) in g.items() if not m.endswith("_modidx")):5d}')
    cyc = cycles(g)
    for c in cyc: print('import cycle: ' + ' -> '.join(map(short, c)))
    sys.exit(1 if cyc else 0)
