curl -X POST 'https://api.example.com/v1/users?active=true' \
  -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKEN_NOT_EXPANDED" \
  --data-raw '{"name": "Ann O'\''Neil", "tags": ["a", "b"]}' \
  --compressed -k -L
