skopeo inspect docker-archive:two.tar:@1
