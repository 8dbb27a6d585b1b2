docker tag 0123456789ab foo:bar
