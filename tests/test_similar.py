"""More-like-this through the service: ids once each, bounded, never an empty id."""

from __future__ import annotations

import pytest

from lookalike.errors import LookalikeError
from lookalike.search import MAX_EXAMPLES


def test_repeated_ids_count_once_and_the_total_is_bounded(demo_service) -> None:
    ids = sorted({h.product.product_id for h in demo_service.search_text("shoes", top_k=5)})
    once = demo_service.similar([ids[0]], [ids[1]], top_k=5)
    assert demo_service.similar([ids[0]] * 700, [ids[1]] * 700 + [ids[0]], top_k=5) == once
    assert ids[0] not in {h.product.product_id for h in once}  # the examples themselves are not results
    with pytest.raises(LookalikeError, match=f"at most {MAX_EXAMPLES} products"):
        demo_service.similar([f"p{i}" for i in range(MAX_EXAMPLES)], ["n"], top_k=5)
    with pytest.raises(LookalikeError, match="must not be empty"):
        demo_service.similar([ids[0]], [""], top_k=5)
