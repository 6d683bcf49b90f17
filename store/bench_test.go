package store_test

func removeFixtures() {}
