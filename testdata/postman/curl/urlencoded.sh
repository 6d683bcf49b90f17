curl 'https://example.com/login' -d 'user=bob' -d 'pass=p%40ss' --data-urlencode 'redirect=/home?x=1&y=2'
