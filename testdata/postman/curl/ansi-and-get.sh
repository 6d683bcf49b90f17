$ curl -sSG https://example.com/search -d q=go -d 'page=2' -H $'X-Tab: a\tb' -A 'courier-test/1.0' -e https://ref.example -b 'session=abc'
