curl --request PUT --url https://example.com/blob --header 'Content-Type: application/octet-stream' --data-binary @./blob.bin
