curl 'https://example.com/api/items' \
  -H 'accept: application/json, text/plain, */*' \
  -H 'accept-language: en-GB,en;q=0.9' \
  -H 'x-empty;' \
  --data-raw 'plain text body' \
  -X PATCH
