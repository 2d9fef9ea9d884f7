"""Files attached to records (docs/files.md).

`storage` is the small interface every store of file content speaks (a local folder in
`local`, an S3-compatible bucket in `s3`), addressed by sha256; `checks` judges an upload
from its content (type, accept, name, image bombs); `thumbs` makes and caches thumbnails.
Nothing here knows Flask: the web and the API wrap these in their own answers.
"""
