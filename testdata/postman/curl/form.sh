curl https://example.com/upload \
  -F 'name=report' \
  -F 'file=@/tmp/report.pdf;type=application/pdf' \
  -F "note=\"quoted\"" \
  -u alice:s3cret
