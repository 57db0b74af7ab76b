"""Searching by words when the encoder sees pixels only: each image also stores a title/description
vector (MiniLM), its ImageNet class probabilities (`concepts`) and a colour histogram (`colours`);
a word query is matched on each route and the rankings are fused (`fusion`).

With an encoder that embeds text itself (ImageBind), words go straight into the joint space instead.
"""
