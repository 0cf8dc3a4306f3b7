"""The page shell with its stylesheet inline: one request fewer, and nothing to package."""

from __future__ import annotations

CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: #1f2328;
  font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 14px; }
.page { max-width: 1280px; margin: 0 auto; padding: 16px; }
header { display: flex; justify-content: space-between; align-items: baseline; }
h1 { font-size: 22px; margin: 4px 0 12px; }
h2 { font-size: 15px; margin: 0 0 10px; color: #57606a; font-weight: 600; }
.row { display: flex; gap: 16px; flex-wrap: wrap; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 14px 16px;
  margin-bottom: 16px; flex: 1 1 100%; min-width: 0; }
.card.narrow { flex: 1 1 300px; }
.card.wide { flex: 2 1 560px; }
.card.half { flex: 1 1 520px; }
.detail { color: #57606a; font-size: 12px; margin-top: 4px; }
.message { background: #ddf4ff; border: 1px solid #54aeff; border-radius: 6px; padding: 10px 12px;
  margin-bottom: 12px; }
.message.problem { background: #fff8c5; border-color: #d4a72c; }
.forecast-target { font-size: 15px; }
.forecast-direction { font-size: 30px; font-weight: 700; margin: 6px 0; }
.forecast-direction .up { color: #1a7f37; }
.forecast-direction .down { color: #cf222e; }
.forecast-direction .probability { font-size: 18px; font-weight: 400; color: #57606a; }
.stats { display: flex; gap: 12px; flex-wrap: wrap; }
.stat { flex: 1 1 160px; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px; }
.stat .card-title { color: #57606a; font-weight: 600; }
.stat .big { font-size: 26px; font-weight: 700; }
.stat .n { font-weight: 600; }
.stat .baseline { color: #57606a; }
.card-title { font-weight: 600; margin: 10px 0 6px; }
.controls { display: flex; gap: 24px; align-items: center; }
.ranges label { border: 1px solid #d0d7de; border-radius: 6px; padding: 3px 10px; margin-right: 4px;
  cursor: pointer; }
.ranges input { margin-right: 4px; }
dl.champion { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.champion dt { color: #57606a; }
dl.champion dd { margin: 0; font-weight: 600; }
table.versions { border-collapse: collapse; width: 100%; }
table.versions th, table.versions td { text-align: left; padding: 4px 8px;
  border-bottom: 1px solid #d0d7de; }
table.predictions { border-collapse: collapse; width: 100%; font-size: 13px; }
table.predictions th { background: #f6f8fa; text-align: left; padding: 5px 8px;
  border-bottom: 1px solid #d0d7de; }
table.predictions td { padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
table.predictions tr.correct td { background: #dafbe1; color: #116329; }
table.predictions tr.wrong td { background: #ffebe9; color: #a40e26; }
table.predictions tr.pending td { color: #57606a; font-style: italic; }
.pagers { display: flex; gap: 6px; align-items: center; justify-content: flex-end;
  margin-top: 8px; }
button.pager { border: 1px solid #d0d7de; background: #f6f8fa; border-radius: 6px;
  padding: 3px 10px; cursor: pointer; font: inherit; }
.lifecycle.champion { color: #1a7f37; font-weight: 600; }
.lifecycle.challenger { color: #0969da; }
.lifecycle.rejected, .lifecycle.archived { color: #57606a; }
"""

INDEX_STRING = (
    """<!DOCTYPE html>
<html lang="en">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
<style>"""
    + CSS
    + """</style>
</head>
<body>
{%app_entry%}
<footer>
{%config%}
{%scripts%}
{%renderer%}
</footer>
</body>
</html>"""
)
