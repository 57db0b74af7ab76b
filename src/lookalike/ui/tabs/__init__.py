"""One function per tab: it builds the tab's components inside the current gr.Tabs and wires its events.

Each returns the components other tabs (or build_ui's refresh on page load) need to reach.
"""
