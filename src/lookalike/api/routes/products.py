"""Products: one product's images and views (reads), adding and deleting products (writes, need the key).

Images are served only from the path the index stores for that product; writes run through the app's
WriteRunner, one catalog change at a time.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse

from lookalike.api.convert import image_url, read_upload
from lookalike.api.deps import Catalog, UploadLimit, Writes, require_key
from lookalike.api.schemas import AddedOut, AddOut, DeleteOut, ProductDetailOut, ProductId, ViewOut
from lookalike.catalog_service import MAX_NAME_CHARS

MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
}
router = APIRouter(tags=["products"])  # reads: create_app puts them behind the key unless public_reads
write_router = APIRouter(tags=["products"], dependencies=[Depends(require_key)])


@router.get(
    "/products/{product_id:path}/image",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}, "description": "The image file."}},
)
def product_image(
    product_id: ProductId,
    catalog: Catalog,
    view: Annotated[int, Query(ge=0, description="Which image of the product (0 = first).")] = 0,
    point: Annotated[str | None, Query(description="A hit's point_id: the image that matched.")] = None,
) -> FileResponse:
    """A product image, served from the path the index stores for that product (nothing else)."""
    path = catalog.product_image_path(product_id, view=view, point=point)
    media = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"X-Content-Type-Options": "nosniff"})


@write_router.post("/products", response_model=AddOut, status_code=201)
async def add_products(
    files: Annotated[list[UploadFile], File(description="One or more product images.")],
    category: Annotated[str, Form(min_length=1, max_length=MAX_NAME_CHARS)],
    catalog: Catalog,
    writer: Writes,
    limit: UploadLimit,
    product_id: Annotated[
        str | None, Form(description="All files become views of this product; default: one per file.")
    ] = None,
    title: Annotated[str | None, Form(max_length=200)] = None,
    replace: Annotated[bool, Form(description="Remove the product's other images too.")] = False,
) -> AddOut:
    """Add (or with replace=true, replace) product images; they are searchable when this returns.

    All or nothing: the whole request is refused if any file is not a readable image or the
    images hold more pixels in all than the server's limit (413). Writes are applied one at a
    time; when others keep the server busy past its time limit the answer is 503 (try again).
    """
    product_id = (product_id or "").strip() or None
    if replace and product_id is None:
        raise HTTPException(422, "replace=true needs the product_id whose images to replace")
    uploads = [await read_upload(f, limit) for f in files]
    report = await writer.run(
        lambda: catalog.add_images(
            uploads,
            category,
            product_id=product_id,
            title=title,
            replace=replace,
            all_or_nothing=True,
        )
    )
    added = [
        AddedOut(
            product_id=a.product.product_id,
            category=a.product.category,
            point_id=a.point_id,
            rel_path=a.product.rel_path,
            image_url=image_url(a.product.product_id, a.point_id),
        )
        for a in report.added
    ]
    return AddOut(added=added, replaced=report.replaced)


@router.get("/products/{product_id:path}", response_model=ProductDetailOut)
def get_product(product_id: ProductId, catalog: Catalog) -> ProductDetailOut:
    """What the index holds for a product: each image, and whether its file is still there."""
    views = catalog.product_views(product_id)
    first = views[0][1]
    return ProductDetailOut(
        product_id=product_id,
        category=first.category,
        title=first.title,
        **asdict(first.offer),
        views=[
            ViewOut(
                point_id=pid,
                rel_path=p.rel_path,
                image_url=image_url(product_id, pid),
                file_ok=p.path.is_file(),
            )
            for pid, p in views
        ],
    )


@write_router.delete("/products/{product_id:path}", response_model=DeleteOut)
async def delete_product(product_id: ProductId, catalog: Catalog, writer: Writes) -> DeleteOut:
    """Remove a product and all its images from the index (uploaded files are deleted too)."""
    deleted = await writer.run(lambda: catalog.delete_product(product_id))
    return DeleteOut(product_id=product_id, deleted=deleted)
