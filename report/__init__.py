"""A static HTML report of the latest release, for people (issue 13, "For people").

The report is drawn from the public aggregate topics exactly as a subscriber reads them, and from
nothing else: `report.read` reads the topics, `report.view` keeps each cell's latest message and
flattens its measures, `report.render` turns a list of messages into one self-contained HTML file (with
`report.charts` drawing its inline SVG), and `python -m report` writes it. What the exchange withheld
is drawn as withheld, never as zero: a zero is a finding, a withheld value is the absence of one.
"""
