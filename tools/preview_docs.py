"""Preview the documentation pages where Quarto cannot be installed: `python tools/preview_docs.py [--no-proc]`.

Runs nbdev's docs step (`nbdev-proc-nbs`, what `nbdev-docs` does before Quarto: hidden cells removed, `show_doc`
tables added and executed), then renders each processed notebook to plain HTML with nbconvert in `_preview/`,
with Quarto's cell options honoured where they change what a reader sees (`echo: false`, `output: false`,
`include: false`) and a page listing the notebooks in the sidebar's order. Open `_preview/index.html`. The real
site is Quarto's (the GitHub deploy workflow); this is for reading the pages before pushing."""
import re, subprocess, sys
import nbformat
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_OPT = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.+?)\s*$')

def _options(src:str) -> dict:
    return {m[1]: m[2].lower() for m in map(_OPT.match, src.splitlines()) if m}

_ATTRS = re.compile(r'(\]\([^)]*\))\{[^}]*\}')  # Quarto's link attributes: [source](url){target="_blank" ...}

def _front_matter(src:str):
    "The title and description of a page from the YAML front matter nbdev makes of its H1 and `>` lines."
    import yaml
    meta = yaml.safe_load(src.strip().strip('-')) or {}
    return nbformat.v4.new_markdown_cell(f"# {meta.get('title', '')}\n\n> {meta.get('description', '')}")

def quarto_view(nb):
    "The cells as Quarto shows them: front matter as the title, `#|` lines gone, inputs hidden by `echo: false`, cells dropped by `include: false`."
    keep,std = [],{'cell_type', 'metadata', 'source', 'outputs', 'execution_count', 'id', 'attachments'}
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.startswith('---'): nb.cells[0] = _front_matter(nb.cells[0].source)
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = _ATTRS.sub(r'\1', c.source)
        for o in c.get('outputs', []):
            if 'text/markdown' in o.get('data', {}): o['data']['text/markdown'] = _ATTRS.sub(r'\1', o['data']['text/markdown'])
        for k in set(c) - std: del c[k]  # nbdev's own bookkeeping (`has_sd`, ...), not notebook format
        c.metadata.pop('execution', None)
        if c.cell_type == 'code':
            opts = _options(c.source)
            if opts.get('include') == 'false': continue
            if opts.get('output') == 'false': c.outputs = []
            c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
            if opts.get('echo') == 'false': c.metadata['jupyter'] = {'source_hidden': True}; c.metadata['transient'] = {'remove_source': True}
            if not c.source and not c.get('outputs'): continue
        keep.append(c)
    nb.cells = keep
    return nb

def main(proc:bool=True):
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    if proc: subprocess.run(['nbdev-proc-nbs', '--force'], cwd=ROOT, check=True)
    out = ROOT/'_preview'; out.mkdir(exist_ok=True)
    exp = HTMLExporter(template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)
    exp.register_preprocessor(TagRemovePreprocessor(remove_input_tags={'hide-input'}), enabled=True)
    pages = []
    for f in sorted((ROOT/'_proc').glob('*.ipynb')):
        nb = quarto_view(nbformat.read(f, as_version=4))
        for c in nb.cells:
            if c.get('metadata', {}).get('transient', {}).get('remove_source'): c.metadata.setdefault('tags', []).append('hide-input')
        body,_ = exp.from_notebook_node(nb)
        (out/f'{f.stem}.html').write_text(body.replace('.ipynb"', '.html"').replace('.ipynb#', '.html#'))
        title = next((c.source.splitlines()[0].lstrip('# ') for c in nb.cells if c.cell_type == 'markdown' and c.source.startswith('# ')), f.stem)
        pages.append((f.stem, title))
    links = '\n'.join(f'<li><a href="{s}.html">{t}</a> <small>({s})</small></li>' for s,t in pages)
    (out/'index_pages.html').write_text(f'<!doctype html><meta charset="utf-8"><title>covergenre docs preview</title><h1>covergenre</h1><ol>{links}</ol>')
    print(f'{len(pages)} pages in {out} (open {out/"index_pages.html"} for the list, {out/"index.html"} for the home page)')

if __name__ == '__main__': main('--no-proc' not in sys.argv)
