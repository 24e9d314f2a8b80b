from seaway.service import Bucket, Queue, Table, Topic, discover, resource_env, url_env


def test_resource_environment_variables_follow_one_rule():
    assert resource_env(Table("products", hash_key="id")) == "PRODUCTS_TABLE"
    assert resource_env(Topic("order-events")) == "ORDER_EVENTS_TOPIC_ARN"
    assert resource_env(Queue("fulfillment")) == "FULFILLMENT_QUEUE_URL"
    assert resource_env(Bucket("receipts")) == "RECEIPTS_BUCKET"
    assert url_env("catalog") == "CATALOG_URL"


def test_storefront_declares_four_services_that_agree_on_who_calls_whom():
    services = discover()
    assert set(services) == {"gateway", "catalog", "orders", "fulfillment"}
    for service in services.values():
        for callee in service.calls:
            assert service.name in services[callee].callers, f"{service.name} calls {callee} but is not allowed"
    assert len({service.port for service in services.values()}) == 4


def test_every_queue_subscribes_to_a_declared_topic():
    topics = {r.name for s in discover().values() for r in s.resources if isinstance(r, Topic)}
    queues = [r for s in discover().values() for r in s.resources if isinstance(r, Queue)]
    assert queues and all(queue.topic in topics for queue in queues)


def test_restricted_paths_may_only_name_callers_of_the_service():
    import pytest

    from seaway.service import RestrictedPaths, Service

    with pytest.raises(ValueError, match="not among its callers"):
        Service(
            name="x",
            app="x:app",
            port=1,
            callers=("gateway",),
            restricted_paths=(RestrictedPaths(paths=("/internal/*",), callers=("fulfillment",)),),
        )
