"""`tfgan-i2i demo`: a local web page (Gradio) to explore, compare and listen to the package's translation models.

One room per concern:
  command.py    the CLI subcommand (options, checks, launch); imports nothing heavy until it runs
  registry.py   which models the page offers (shipped exports, --checkpoint runs) and loading them once each
  samples.py    the bundled facades halves offered as example inputs
  callbacks.py  plain Python translation functions over loaded models and files (unit-tested without a browser)
  cards.py      each model's card (Markdown from its config, README and export report)
  app.py        the Gradio page wired to the callbacks, offline (system fonts, no analytics, no share link)

Importing this package imports neither TensorFlow nor Gradio.
"""
